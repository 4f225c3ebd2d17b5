"""Count the words of a folder of text files on an Azure ML batch endpoint."""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import dag, task

from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLCreateBatchEndpointOperator,
)
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator

HERE = Path(__file__).resolve().parent / "word_counts"


@dag(schedule=None, params={"folder": str(HERE.parents[1] / "data")})
def word_counts():
    compute = AzureMLCreateComputeOperator(task_id="create_compute", compute_name="cpu-cluster", max_instances=1)
    endpoint = AzureMLCreateBatchEndpointOperator(task_id="create_endpoint", yaml_path=str(HERE / "endpoint.yml"))
    deploy = AzureMLCreateBatchDeploymentOperator(
        task_id="deploy", deployment=str(HERE / "deployment.yml"), set_default=True
    )
    score = AzureMLInvokeBatchEndpointOperator(
        task_id="score", endpoint_name="word-counts", inputs="{{ params.folder }}", poll_interval=1
    )

    @task
    def counts(result: dict) -> dict[str, int]:
        from airflow_batchml.hooks.azure_ml import AzureMLHook

        text = AzureMLHook().read_datastore_file(result["output_uri"].rstrip("/") + "/counts.csv").decode()
        return {name: int(count) for name, count in (line.split() for line in text.splitlines())}

    compute >> endpoint >> deploy >> score
    counts(score.output)


word_counts()
