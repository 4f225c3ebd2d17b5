"""The walk-through's other steps as operators on the emulator: compute, endpoint, deployments (test a
non-default one, promote it, delete the old), the job sensor, a published pipeline, schedules."""

from __future__ import annotations

import pytest
from airflow.exceptions import TaskDeferred

from airflow_batchml.exceptions import AzureMLJobError
from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLCreateBatchEndpointOperator,
    AzureMLDeleteBatchDeploymentOperator,
    AzureMLDeleteBatchEndpointOperator,
    AzureMLSetDefaultDeploymentOperator,
)
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator, AzureMLDeleteComputeOperator
from airflow_batchml.operators.pipelines import AzureMLRunPublishedPipelineOperator
from airflow_batchml.operators.schedules import (
    AzureMLCreateScheduleOperator,
    AzureMLDisableScheduleOperator,
    AzureMLListSchedulesOperator,
)
from airflow_batchml.sensors.job import AzureMLJobSensor
from tests.support.task_context import run_trigger
from tests.support.workspace import DATA, upload_inputs

pytestmark = pytest.mark.integration

ENDPOINT = "life-batch"


def test_create_test_promote_delete(airflow_connections, wasb, container, context, hook):
    AzureMLCreateComputeOperator(task_id="compute", compute_name="life-cluster", max_instances=2).execute(context)
    # The deployment YAMLs name batch-cluster; creating it again is a no-op if another test made it.
    AzureMLCreateComputeOperator(task_id="compute", compute_name="batch-cluster", max_instances=2).execute(context)
    AzureMLCreateBatchEndpointOperator(task_id="endpoint", endpoint_name=ENDPOINT).execute(context)
    first = AzureMLCreateBatchDeploymentOperator(
        task_id="dep1", deployment=str(DATA / "deployment.yml"), endpoint_name=ENDPOINT, set_default=True
    ).execute(context)
    second = AzureMLCreateBatchDeploymentOperator(
        task_id="dep2", deployment=str(DATA / "deployment-flat.yml"), endpoint_name=ENDPOINT
    ).execute(context)
    assert (first["default"], second["default"]) == (True, False)

    folder = upload_inputs(wasb, container, "life/test", 2)
    tested = AzureMLInvokeBatchEndpointOperator(
        task_id="test_new",
        endpoint_name=ENDPOINT,
        deployment_name="digits-forest",
        inputs=folder,
        deferrable=False,
        poll_interval=0.2,
    ).execute(context)
    assert (tested["status"], tested["deployment_name"]) == ("Completed", "digits-forest")

    AzureMLSetDefaultDeploymentOperator(
        task_id="promote", endpoint_name=ENDPOINT, deployment_name="digits-forest"
    ).execute(context)
    assert hook.get_batch_endpoint(ENDPOINT)["default_deployment"] == "digits-forest"
    AzureMLDeleteBatchDeploymentOperator(
        task_id="delete_old", endpoint_name=ENDPOINT, deployment_name="digits-logreg"
    ).execute(context)
    assert hook.list_batch_deployments(ENDPOINT) == ["digits-forest"]
    # Deleting again is a no-op: "already gone" counts as done, so a retried task succeeds.
    AzureMLDeleteBatchDeploymentOperator(
        task_id="delete_old", endpoint_name=ENDPOINT, deployment_name="digits-logreg"
    ).execute(context)
    AzureMLDeleteBatchEndpointOperator(task_id="delete_endpoint", endpoint_name=ENDPOINT).execute(context)
    AzureMLDeleteBatchEndpointOperator(task_id="delete_endpoint", endpoint_name=ENDPOINT).execute(context)
    AzureMLDeleteComputeOperator(task_id="delete_compute", compute_name="life-cluster").execute(context)


def test_job_sensor_poke_and_deferred(scoring_endpoint, wasb, container, hook, context):
    folder = upload_inputs(wasb, container, "life/sensor", 1)
    job = hook.invoke_batch_endpoint(scoring_endpoint, {"in": folder}, job_name="sensed-1")
    sensor = AzureMLJobSensor(
        task_id="sense", job_name=job["job_name"], poke_interval=0.2, deferrable=True, timeout=120
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    (event,) = run_trigger(deferred.value.trigger)
    assert sensor.execute_complete(context, event)["status"] == "Completed"
    poking = AzureMLJobSensor(task_id="sense", job_name=job["job_name"], poke_interval=0.2, deferrable=False)
    assert poking.poke(context) is True


def test_job_sensor_fails_on_failed_job(scoring_endpoint, hook, context):
    job = hook.invoke_batch_endpoint(
        scoring_endpoint, {"in": "azureml://datastores/workspaceblobstore/paths/life/none/"}, job_name="sensed-bad"
    )["job_name"]
    sensor = AzureMLJobSensor(task_id="sense", job_name=job, poke_interval=0.2, timeout=120)
    with pytest.raises(AzureMLJobError, match=f"{job} is Failed"):
        sensor.execute(context)


def test_published_pipeline_operator(scoring_endpoint, wasb, container, emulator, context):
    upload_inputs(wasb, container, "life/pipeline", 2)
    published = emulator.request(
        "POST", "/_emulator/pipelines", json={"endpoint": scoring_endpoint, "parameters": {"threshold": 0.1}}
    ).json()
    op = AzureMLRunPublishedPipelineOperator(
        task_id="pipeline",
        rest_endpoint=published["Endpoint"],
        experiment_name="from-airflow",
        parameter_assignments={"threshold": 0.5},
        data_path_assignments={"input_data": {"datastore": "workspaceblobstore", "path": "life/pipeline/"}},
        deferrable=True,
        poll_interval=0.2,
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    (event,) = run_trigger(deferred.value.trigger)
    assert op.execute_complete(context, event)["status"] == "Completed"


def test_schedule_operators(scoring_endpoint, context):
    created = AzureMLCreateScheduleOperator(
        task_id="create", schedule_name="life-every-15", create_job="azureml:sensed-1", frequency="minute", interval=15
    ).execute(context)
    assert created["is_enabled"] is True
    listed = AzureMLListSchedulesOperator(task_id="list").execute(context)
    assert "life-every-15" in {s["name"] for s in listed}
    assert (
        AzureMLDisableScheduleOperator(task_id="off", schedule_name="life-every-15").execute(context)["is_enabled"]
        is False
    )
    assert "life-every-15" not in {s["name"] for s in AzureMLListSchedulesOperator(task_id="list").execute(context)}
