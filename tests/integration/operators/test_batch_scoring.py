"""AzureMLInvokeBatchEndpointOperator end to end on the emulator: sync wait, deferred wait through the real
trigger loop, retries that attach instead of resubmitting, failures, timeouts and cancellation."""

from __future__ import annotations

import pytest
from airflow.exceptions import TaskDeferred

from airflow_batchml.exceptions import AzureMLJobError
from airflow_batchml.links import JOB_XCOM_KEY
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.triggers.job import AzureMLJobTrigger
from tests.support.stack import both_namings
from tests.support.task_context import RecordingStateStore, RecordingTaskInstance, run_trigger
from tests.support.workspace import DATA, SLOW_SCRIPT, deploy_script, upload_inputs, wait_for_job

pytestmark = pytest.mark.integration

ENDPOINT = "ops-batch"


@pytest.fixture(scope="module")
def endpoints() -> dict[str, dict]:
    """The ``endpoint`` of each naming mode, deployed when the first test in that mode asks for it."""
    return {}


@pytest.fixture
def endpoint(service, naming, endpoints, hook, tmp_path_factory):
    """On the test's emulator: an endpoint with a fast default deployment and a slow one (sleeps per file) for
    timeout tests."""
    if naming not in endpoints:
        endpoints[naming] = deploy_endpoint(hook, tmp_path_factory)
    return endpoints[naming]


def deploy_endpoint(hook, tmp_path_factory) -> dict:
    hook.ensure_compute("batch-cluster")
    hook.create_or_update_batch_endpoint(ENDPOINT)
    hook.create_or_update_batch_deployment(str(DATA / "deployment.yml"), endpoint_name=ENDPOINT, set_default=True)
    deploy_script(hook, tmp_path_factory.mktemp("slow"), ENDPOINT, "slow-dep", SLOW_SCRIPT, mini_batch_size=1)
    container = hook.get_client().datastores.get("workspaceblobstore").container_name
    return {"container": container}


def operator(**kwargs) -> AzureMLInvokeBatchEndpointOperator:
    defaults = {"task_id": "score", "endpoint_name": ENDPOINT, "poll_interval": 0.2}
    return AzureMLInvokeBatchEndpointOperator(**{**defaults, **kwargs})


def job_count(emulator) -> int:
    return len(emulator.request("GET", "/_emulator/jobs").json()["value"])


def test_sync_wait_returns_result_and_link(endpoint, wasb, context, hook):
    folder = upload_inputs(wasb, endpoint["container"], "ops/sync", 3)
    result = operator(inputs=folder, deferrable=False, overrides={"mini_batch_size": 2}).execute(context)
    assert result["status"] == "Completed"
    assert result["deployment_name"] == "digits-logreg"
    # The service's job name, and the output folder the task's key chose (Azure ML does not report one).
    assert result["output_uri"].startswith("azureml://datastores/workspaceblobstore/paths/airflow/tests-score-")
    assert context["ti"].xcoms[JOB_XCOM_KEY]["job_name"] == result["job_name"]
    assert hook.get_job(result["job_name"])["status"] == "Completed"
    assert hook.read_datastore_file(f"{result['output_uri']}predictions.csv")


def test_deferred_wait_through_the_real_trigger(endpoint, wasb, context):
    folder = upload_inputs(wasb, endpoint["container"], "ops/deferred", 2)
    op = operator(inputs={"images": folder}, deferrable=True, timeout=300)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, AzureMLJobTrigger)
    _classpath, kwargs = trigger.serialize()
    assert kwargs["end_time"] is not None
    revived = AzureMLJobTrigger(**{**kwargs, "poll_interval": 0.1})  # as after a triggerer restart
    (event,) = run_trigger(revived)
    assert event["status"] == "success"
    # Resume the way the task runner does: a fresh operator, next_method and next_kwargs + the event.
    resumed = operator(inputs={"images": folder}, deferrable=True)
    result = resumed.resume_execution(deferred.value.method_name, {**deferred.value.kwargs, "event": event}, context)
    assert (result["status"], result["deployment_name"]) == ("Completed", "digits-logreg")


@both_namings
@pytest.mark.parametrize("found_by", ["task_state_store", "output"])
def test_retry_attaches_to_the_first_job(endpoint, wasb, service, found_by, naming):
    """A task killed right after submitting and retried leaves exactly one job: found through the job name
    the first try kept, or (no store, as in older Airflow) through the output folder its key chose; whether
    the service named the job itself or kept the name asked for."""
    folder = upload_inputs(wasb, endpoint["container"], f"ops/retry-{found_by}", 2)
    store = RecordingStateStore() if found_by == "task_state_store" else None
    run_id = f"retry-{found_by}-{naming}"  # the two modes share Azurite: their output folders must differ
    first_try = {"ti": RecordingTaskInstance(run_id=run_id, try_number=1), "task_state_store": store}
    submitted = operator(inputs=folder, wait_for_completion=False).execute(first_try)
    if store is not None:
        assert store.values["azure_ml_job"]["job_name"] == submitted["job_name"]
    before = job_count(service)
    second_try = {"ti": RecordingTaskInstance(run_id=run_id, try_number=2), "task_state_store": store}
    result = operator(inputs=folder, deferrable=False).execute(second_try)
    assert result["job_name"] == submitted["job_name"]
    assert result["output_uri"] == submitted["output_uri"]
    assert result["status"] == "Completed"
    assert job_count(service) == before


def test_different_runs_get_different_jobs(endpoint, wasb):
    folder = upload_inputs(wasb, endpoint["container"], "ops/runs", 1)
    names = {
        operator(inputs=folder, wait_for_completion=False).execute({"ti": RecordingTaskInstance(run_id=run)})[
            "job_name"
        ]
        for run in ("run-a", "run-b")
    }
    assert len(names) == 2


def test_failed_job_fails_the_task_with_its_message(endpoint, context):
    op = operator(inputs="azureml://datastores/workspaceblobstore/paths/ops/missing/", deferrable=False)
    with pytest.raises(AzureMLJobError, match="is Failed") as err:
        op.execute(context)
    assert "no error message" not in str(err.value)


def test_sync_timeout_cancels_the_job(endpoint, wasb, context, hook):
    folder = upload_inputs(wasb, endpoint["container"], "ops/slow-sync", 20)
    op = operator(inputs=folder, deployment_name="slow-dep", deferrable=False, timeout=1)
    with pytest.raises(AzureMLJobError, match="did not finish within 1 s"):
        op.execute(context)
    assert wait_for_job(hook, op.job_name)["status"] == "Canceled"


def test_deferred_timeout_cancels_the_job(endpoint, wasb, context, hook):
    folder = upload_inputs(wasb, endpoint["container"], "ops/slow-deferred", 20)
    op = operator(inputs=folder, deployment_name="slow-dep", deferrable=True, timeout=1)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    (event,) = run_trigger(deferred.value.trigger)
    assert event["status"] == "timeout"
    with pytest.raises(AzureMLJobError, match="deadline"):
        op.execute_complete(context, event)
    assert wait_for_job(hook, op.job_name)["status"] == "Canceled"


def test_on_kill_cancels_the_job(endpoint, wasb, context, hook):
    folder = upload_inputs(wasb, endpoint["container"], "ops/kill", 20)
    op = operator(inputs=folder, deployment_name="slow-dep", wait_for_completion=False)
    op.execute(context)
    op.on_kill()
    assert wait_for_job(hook, op.job_name)["status"] == "Canceled"


def test_trigger_rides_out_transient_errors(endpoint, wasb, context, emulator):
    folder = upload_inputs(wasb, endpoint["container"], "ops/flaky", 1)
    submitted = operator(inputs=folder, wait_for_completion=False).execute(context)
    rule = {"path_regex": f"/jobs/{submitted['job_name']}$", "status": 503, "times": 3, "method": "GET"}
    emulator.request("POST", "/_emulator/faults", json=rule).raise_for_status()
    (event,) = run_trigger(AzureMLJobTrigger(submitted["job_name"], poll_interval=0.1))
    assert event["status"] == "success"


def test_trigger_gives_up_after_too_many_errors(endpoint, wasb, context, emulator):
    folder = upload_inputs(wasb, endpoint["container"], "ops/down", 1)
    submitted = operator(inputs=folder, wait_for_completion=False).execute(context)
    rule = {"path_regex": f"/jobs/{submitted['job_name']}$", "status": 500, "times": 10, "method": "GET"}
    emulator.request("POST", "/_emulator/faults", json=rule).raise_for_status()
    try:
        (event,) = run_trigger(AzureMLJobTrigger(submitted["job_name"], poll_interval=0, max_consecutive_errors=2))
    finally:
        emulator.request("DELETE", "/_emulator/faults")
    assert event["status"] == "error"
    assert "3 errors in a row" in event["message"]


def test_kill_after_handing_the_wait_to_the_trigger_leaves_the_job_alone(endpoint, wasb, context, hook):
    """A SIGTERM while the task defers (an executor shutting down) is not a user kill: the trigger owns it."""
    folder = upload_inputs(wasb, endpoint["container"], "ops/handover", 2)
    op = operator(inputs=folder, deferrable=True)
    with pytest.raises(TaskDeferred):
        op.execute(context)
    op.on_kill()
    assert wait_for_job(hook, op.job_name)["status"] == "Completed"
