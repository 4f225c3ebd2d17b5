"""Digit classification on a batch endpoint: the Azure ML MNIST batch walk-through as one Airflow DAG.

Creates the compute cluster and the batch endpoint, registers the model and deploys it from an ``az ml``
deployment YAML (scoring script with init()/run(mini_batch), environment, mini-batch size, concurrency,
append_row output, retries, timeout, error threshold, logging level), makes it the default, invokes the
endpoint on the folder of digit images, waits for the job without holding a worker (deferrable), then
downloads predictions.csv and reports accuracy against the known labels.

Run ``python dags/digits/seed.py`` first (``make demo`` does both): it trains the model on
scikit-learn's bundled digits and writes the test images to the workspace's default datastore.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from airflow.sdk import dag, task
from digits.storage import IMAGES

from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLCreateBatchEndpointOperator,
)
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator

ASSETS = Path(__file__).resolve().parent / "digits"
log = logging.getLogger(__name__)


@dag(schedule=None, catchup=False, tags=["azure-ml", "batch-endpoint", "demo"])
def digits_batch_scoring():
    compute = AzureMLCreateComputeOperator(task_id="create_compute", compute_name="batch-cluster", max_instances=2)
    endpoint = AzureMLCreateBatchEndpointOperator(task_id="create_endpoint", yaml_path=str(ASSETS / "endpoint.yml"))
    deploy = AzureMLCreateBatchDeploymentOperator(
        task_id="deploy_model", deployment=str(ASSETS / "deployment.yml"), set_default=True
    )
    score = AzureMLInvokeBatchEndpointOperator(
        task_id="score_images", endpoint_name="digits-batch", inputs=IMAGES, poll_interval=2, timeout=1800
    )

    @task
    def report_accuracy(result: dict) -> dict:
        from digits.evaluation import job_accuracy

        summary = job_accuracy(result)
        log.info("DEMO SUMMARY %s", json.dumps(summary))
        if summary["accuracy"] < 0.9:
            raise ValueError(f"accuracy {summary['accuracy']} is below 0.9")
        return summary

    compute >> endpoint >> deploy >> score
    report_accuracy(score.output)


digits_batch_scoring()
