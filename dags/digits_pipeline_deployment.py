"""A pipeline component deployment, the SDK v2 home of an SDK v1 published pipeline, deployed and run once.

Creates the compute and the ``digits-pipeline`` batch endpoint, then deploys two pipeline components from
their ``az ml`` YAML (``digits/pipeline/``): prepare (PNG images to features) then score (features and a
model folder to predictions.csv), once for a folder of images (the default deployment) and once for a
single image (what the change-based DAG invokes). It then scores the seeded test images with a data
input, the model folder, a numeric literal and two named outputs, and reports accuracy.

Run ``python dags/digits/seed.py`` first (``make demo`` does): it trains the model and writes the images.
The other ``digits_pipeline_*`` DAGs need this one.
"""

from __future__ import annotations

import json
import logging

from airflow.sdk import dag, task
from digits.pipelines import ASSETS, ENDPOINT, MODEL
from digits.storage import DATASTORE, IMAGES

from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLCreateBatchEndpointOperator,
)
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator

SCORED = f"{DATASTORE}/digits/pipeline-scored/{{{{ run_id | replace(':', '-') | replace('+', '-') }}}}"
log = logging.getLogger(__name__)


@dag(schedule=None, catchup=False, tags=["azure-ml", "batch-endpoint", "pipeline-component"])
def digits_pipeline_deployment():
    compute = AzureMLCreateComputeOperator(task_id="create_compute", compute_name="batch-cluster", max_instances=2)
    endpoint = AzureMLCreateBatchEndpointOperator(task_id="create_endpoint", yaml_path=str(ASSETS / "endpoint.yml"))
    deploy_folder = AzureMLCreateBatchDeploymentOperator(
        task_id="deploy_folder_pipeline", deployment=str(ASSETS / "deployment.yml"), set_default=True
    )
    deploy_file = AzureMLCreateBatchDeploymentOperator(
        task_id="deploy_file_pipeline", deployment=str(ASSETS / "deployment-one-file.yml")
    )

    @task
    def upload_model() -> str:
        from digits.pipelines import upload_model

        return upload_model()

    score = AzureMLInvokeBatchEndpointOperator(
        task_id="score_images",
        endpoint_name=ENDPOINT,
        inputs={"images": IMAGES, "model": MODEL, "pixel_scale": 15},
        outputs={"features": f"{SCORED}/features/", "predictions": f"{SCORED}/predictions/"},
        experiment_name="digits-pipeline",
        poll_interval=2,
        timeout=1800,
    )

    @task
    def report_accuracy(result: dict) -> dict:
        from digits.pipelines import pipeline_accuracy

        summary = pipeline_accuracy(result)
        log.info("PIPELINE SUMMARY %s", json.dumps(summary))
        if summary["accuracy"] < 0.9:
            raise ValueError(f"accuracy {summary['accuracy']} is below 0.9")
        return summary

    compute >> endpoint >> [deploy_folder, deploy_file]
    [deploy_folder, deploy_file, upload_model()] >> score
    report_accuracy(score.output)


digits_pipeline_deployment()
