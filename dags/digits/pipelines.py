"""What the digits pipeline DAGs share: the pipeline endpoint, the model folder its score step reads, and accuracy.

The pipeline (``digits/pipeline/``: prepare, then score) takes the model as a data input, a folder holding
the classifier's joblib file in the workspace datastore; ``upload_model`` puts the seeded classifier there.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from digits.seed import LABELS_BLOB
from digits.storage import CONTAINER, DATASTORE

ENDPOINT = "digits-pipeline"
FOLDER_DEPLOYMENT = "digits-score-folder"
FILE_DEPLOYMENT = "digits-score-file"
MODEL_FOLDER = "digits/models/logreg"
MODEL = f"{DATASTORE}/{MODEL_FOLDER}/"
ASSETS = Path(__file__).resolve().parent / "pipeline"


def upload_model(wasb_conn_id: str = "wasb_default") -> str:
    """Copy the seeded classifier (``python dags/digits/seed.py`` trains it) to the datastore; returns its URI."""
    from digits.storage import wasb

    (model_file,) = (Path(__file__).resolve().parent / "model" / "logreg").glob("*.joblib")
    wasb(wasb_conn_id).load_file(str(model_file), CONTAINER, f"{MODEL_FOLDER}/{model_file.name}", overwrite=True)
    return MODEL


def read_output(result: dict[str, Any], output: str, file_name: str, azure_ml_conn_id: str = "azure_ml_default") -> str:
    """A file of one named output of a pipeline job, from the invoke task's ``outputs`` locations."""
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    uri = result["outputs"][output].rstrip("/") + "/" + file_name
    return AzureMLHook(azure_ml_conn_id).read_datastore_file(uri).decode()


def pipeline_accuracy(result: dict[str, Any], azure_ml_conn_id: str = "azure_ml_default") -> dict[str, Any]:
    """Accuracy of a pipeline job's predictions.csv (``file,prediction`` rows) against the seeded labels."""
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    rows = list(csv.DictReader(io.StringIO(read_output(result, "predictions", "predictions.csv", azure_ml_conn_id))))
    labels = AzureMLHook(azure_ml_conn_id).read_datastore_file(f"{DATASTORE}/{LABELS_BLOB}").decode()
    truth = {name: int(label) for name, label in csv.reader(io.StringIO(labels))}
    correct = sum(1 for row in rows if truth.get(row["file"]) == int(row["prediction"]))
    return {
        "files_scored": len(rows),
        "correct": correct,
        "accuracy": round(correct / max(len(rows), 1), 4),
        "job_name": result["job_name"],
        "outputs": result["outputs"],
    }
