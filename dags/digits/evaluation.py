"""Score a digits job's predictions.csv against the known labels (shared by the digits DAGs)."""

from __future__ import annotations

import csv
import io
from typing import Any

from digits.seed import LABELS_BLOB
from digits.storage import DATASTORE


def accuracy(predictions: str, labels: str) -> dict[str, Any]:
    """``predictions``: append_row lines ``<file> <digit>``; ``labels``: CSV rows ``<file>,<digit>``."""
    truth = {name: int(label) for name, label in csv.reader(io.StringIO(labels))}
    scored = [line.split() for line in predictions.splitlines() if line.strip()]
    correct = sum(1 for name, predicted in scored if truth.get(name) == int(float(predicted)))
    return {"files_scored": len(scored), "correct": correct, "accuracy": round(correct / max(len(scored), 1), 4)}


def read_predictions(result: dict[str, Any], azure_ml_conn_id: str = "azure_ml_default") -> str:
    """The predictions.csv of a scoring task's result (its ``output_uri`` folder)."""
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    return (
        AzureMLHook(azure_ml_conn_id)
        .read_datastore_file(result["output_uri"].rstrip("/") + "/predictions.csv")
        .decode()
    )


def job_accuracy(result: dict[str, Any], azure_ml_conn_id: str = "azure_ml_default") -> dict[str, Any]:
    """Download the job's predictions.csv and the labels, and measure accuracy."""
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    predictions = read_predictions(result, azure_ml_conn_id)
    labels = AzureMLHook(azure_ml_conn_id).read_datastore_file(f"{DATASTORE}/{LABELS_BLOB}").decode()
    return {**accuracy(predictions, labels), "job_name": result["job_name"], "deployment": result["deployment_name"]}
