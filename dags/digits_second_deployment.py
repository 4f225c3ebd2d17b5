"""Second deployment, test, promote: the safe way to roll a new model out behind a batch endpoint.

Deploys the random-forest model (``digits/deployment-forest.yml``) next to the endpoint's current default
without making it default, scores the digit images with both (the challenger invoked by deployment name,
the incumbent through the endpoint's default), and compares their accuracy against the known labels. A
short-circuit lets the rest run only when the challenger is at least as good and is not already the
default: it is promoted to default, then the old deployment is deleted. Re-running after a promotion is
a no-op past the comparison.

Needs the endpoint and its default deployment from ``digits_batch_scoring`` (run that first).
"""

from __future__ import annotations

import logging
from pathlib import Path

from airflow.sdk import dag, task
from digits.storage import IMAGES

from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLDeleteBatchDeploymentOperator,
    AzureMLSetDefaultDeploymentOperator,
)
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator

ASSETS = Path(__file__).resolve().parent / "digits"
ENDPOINT = "digits-batch"
CHALLENGER = "digits-forest"
log = logging.getLogger(__name__)


@dag(schedule=None, catchup=False, tags=["azure-ml", "batch-endpoint", "demo"])
def digits_second_deployment():
    deploy = AzureMLCreateBatchDeploymentOperator(
        task_id="deploy_challenger", deployment=str(ASSETS / "deployment-forest.yml"), set_default=False
    )
    score_default = AzureMLInvokeBatchEndpointOperator(
        task_id="score_with_default", endpoint_name=ENDPOINT, inputs=IMAGES, poll_interval=2, timeout=1800
    )
    score_challenger = AzureMLInvokeBatchEndpointOperator(
        task_id="score_with_challenger",
        endpoint_name=ENDPOINT,
        deployment_name=CHALLENGER,
        inputs=IMAGES,
        poll_interval=2,
        timeout=1800,
    )

    @task.short_circuit
    def challenger_wins(incumbent: dict, challenger: dict) -> bool:
        """Compare accuracies; continue only when the challenger is as good and not already the default."""
        from digits.evaluation import job_accuracy

        old, new = job_accuracy(incumbent), job_accuracy(challenger)
        log.info("Accuracy: %s %.4f, %s %.4f", old["deployment"], old["accuracy"], CHALLENGER, new["accuracy"])
        if old["deployment"] == CHALLENGER:
            log.info("%s is already the default deployment", CHALLENGER)
            return False
        return new["accuracy"] >= old["accuracy"]

    promote = AzureMLSetDefaultDeploymentOperator(
        task_id="promote_challenger", endpoint_name=ENDPOINT, deployment_name=CHALLENGER
    )
    delete_old = AzureMLDeleteBatchDeploymentOperator(
        task_id="delete_old_deployment",
        endpoint_name=ENDPOINT,
        deployment_name="{{ ti.xcom_pull(task_ids='score_with_default')['deployment_name'] }}",
    )

    deploy >> [score_default, score_challenger]
    challenger_wins(score_default.output, score_challenger.output) >> promote >> delete_old


digits_second_deployment()
