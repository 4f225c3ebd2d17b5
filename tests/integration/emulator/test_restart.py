"""Stopping and restarting the emulator on the same state dir loses nothing.

Resources and finished jobs are still there; a job that was running when the emulator stopped runs
again from its first mini-batch under the same name (its log says why) and completes, never lost.
"""

from __future__ import annotations

import uuid

import pytest

from airflow_batchml_emulator.handlers.job_specs import RESTART_NOTE
from tests.support.emulator_api import (
    DATA,
    ENDPOINT,
    create_deployment,
    load_deployment,
    upload_folder,
    upload_inputs,
    wait_for_status,
)

pytestmark = pytest.mark.integration

SLOW_ENDPOINT = "slow-batch"


def test_restart_keeps_resources_and_runs_the_running_job_again(ml_client, workspace, emulator, azurite):
    from azure.ai.ml import Input
    from azure.ai.ml.entities import BatchEndpoint

    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=SLOW_ENDPOINT)).result()
    slow = load_deployment(ml_client, "deployment.yml", workspace.model_uri, upload_folder(azurite, DATA / "slow_code"))
    slow.name, slow.endpoint_name = "slow", SLOW_ENDPOINT
    slow.environment_variables = {"SLOW_SECONDS": "8"}  # the restart lands inside it; the re-run takes as long
    create_deployment(ml_client, slow)
    uri = upload_inputs(azurite, "inputs/slow", {"a.txt": "a"})
    requested = f"slow-{uuid.uuid4().hex[:8]}"
    name = ml_client.batch_endpoints.invoke(
        endpoint_name=SLOW_ENDPOINT,
        deployment_name="slow",
        job_name=requested,
        inputs={"a": Input(type="uri_folder", path=uri)},
    ).name  # the service's name (Azure ML names batch jobs; the requested one is the display name)
    wait_for_status(emulator, name, {"Running"})
    jobs_before = emulator.request("GET", "/_emulator/jobs").json()["count"]
    token = emulator.token

    emulator.restart()

    assert emulator.last_exit_code == 0
    assert emulator.token == token
    assert emulator.request("GET", "/_emulator/jobs").json()["count"] == jobs_before
    record = wait_for_status(emulator, name, {"Completed"})
    statuses = [entry["status"] for entry in record["history"]]
    assert statuses.count("Running") == 2 and statuses[-1] == "Completed"  # started over, under the same name
    assert RESTART_NOTE in emulator.job_log(name)
    fetched = ml_client.jobs.get(name)
    assert (fetched.status, fetched.display_name) == ("Completed", requested)
    assert ml_client.batch_endpoints.get(ENDPOINT).defaults.deployment_name == "digits-logreg"
    assert {d.name for d in ml_client.batch_deployments.list(ENDPOINT)} >= {"digits-logreg", "digits-forest"}
    assert ml_client.compute.get("batch-cluster").name == "batch-cluster"
