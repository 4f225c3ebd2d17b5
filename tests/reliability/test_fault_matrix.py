"""The fault matrix: Azure's bad days on the emulator, and what the plugin's tasks make of them.

Each scenario injects a fault through the emulator's admin route (or kills / restarts a process), runs
the real operators and hooks, and asserts the task outcome and the number of Azure ML jobs created for
the logical submission. Every scenario records a row in the ledger that ``conftest.py`` prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_batchml.exceptions import AzureMLJobError, AzureMLRemoteError
from airflow_batchml.job_names import change_job_name
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator
from tests.integration.hooks.conftest import DATA, SLOW_SCRIPT, deploy_script, upload_inputs, wait_for_job
from tests.integration.operators.conftest import RecordingStateStore, RecordingTaskInstance
from tests.reliability.conftest import FaultOutcome

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "rel-batch"
WS = r"/workspaces/[^/]+"


@pytest.fixture(scope="module")
def stack(airflow_connections, tmp_path_factory):
    """An endpoint with a fast default deployment and a slow one; inputs in the datastore."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    from airflow_batchml.hooks.azure_ml import AzureMLHook

    hook = AzureMLHook(polling_interval=0.5)
    hook.ensure_compute("batch-cluster")
    hook.create_or_update_batch_endpoint(ENDPOINT)
    hook.create_or_update_batch_deployment(str(DATA / "deployment.yml"), endpoint_name=ENDPOINT, set_default=True)
    deploy_script(hook, tmp_path_factory.mktemp("rel"), ENDPOINT, "rel-slow", SLOW_SCRIPT, mini_batch_size=1)
    container = hook.get_client().datastores.get("workspaceblobstore").container_name
    wasb = WasbHook(wasb_conn_id="wasb_default")
    return {"container": container, "fast": upload_inputs(wasb, container, "rel/fast", 2)}


def jobs_named(emulator, prefix: str) -> list[dict]:
    """Jobs whose requested (display) name starts with ``prefix``: Azure ML chooses the job's name itself."""
    jobs = emulator.request("GET", "/_emulator/jobs").json()["value"]
    return [j for j in jobs if (j["request"].get("name") or j["name"]).startswith(prefix)]


def inject(emulator, **rule) -> None:
    emulator.request("POST", "/_emulator/faults", json=rule).raise_for_status()


@pytest.fixture(autouse=True)
def clear_faults(emulator):
    yield
    emulator.request("DELETE", "/_emulator/faults")


def operator(**kwargs) -> AzureMLInvokeBatchEndpointOperator:
    defaults = {"task_id": "score", "endpoint_name": ENDPOINT, "poll_interval": 0.2, "deferrable": False}
    return AzureMLInvokeBatchEndpointOperator(**{**defaults, **kwargs})


ROUTES = {
    "PUT compute": ("PUT", rf"{WS}/computes/rel-cluster$", lambda h, s: h.ensure_compute("rel-cluster")),
    "PUT endpoint": (
        "PUT",
        rf"{WS}/batchEndpoints/{ENDPOINT}$",
        lambda h, s: h.create_or_update_batch_endpoint(ENDPOINT),
    ),
    "GET endpoint": ("GET", rf"{WS}/batchEndpoints/{ENDPOINT}$", lambda h, s: h.get_batch_endpoint(ENDPOINT)),
    "GET deployments": (
        "GET",
        rf"{WS}/batchEndpoints/{ENDPOINT}/deployments$",
        lambda h, s: h.list_batch_deployments(ENDPOINT),
    ),
    "PUT deployment": (
        "PUT",
        rf"{WS}/batchEndpoints/{ENDPOINT}/deployments/digits-logreg$",
        lambda h, s: h.create_or_update_batch_deployment(str(DATA / "deployment.yml"), endpoint_name=ENDPOINT),
    ),
    "GET workspace": (
        "GET",
        rf"{WS}$",
        lambda h, s: (
            h.get_client().batch_endpoints.begin_create_or_update(h.get_client().batch_endpoints.get(ENDPOINT)).result()
        ),
    ),
    "GET datastore": (
        "GET",
        rf"{WS}/datastores/workspaceblobstore$",
        lambda h, s: h.get_client().datastores.get("workspaceblobstore"),
    ),
    "GET schedules": ("GET", rf"{WS}/schedules$", lambda h, s: h.list_schedules()),
    "PUT schedule": (
        "PUT",
        rf"{WS}/schedules/rel-schedule$",
        lambda h, s: h.create_or_update_schedule(
            name="rel-schedule", create_job="azureml:rel-any", cron="*/15 * * * *"
        ),
    ),
}


@pytest.mark.parametrize("status", [429, 503, 500])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_transient_faults_on_arm_routes(stack, hook, emulator, ledger, route, status):
    method, path, call = ROUTES[route]
    times = 1 if status == 500 else 2
    inject(emulator, method=method, path_regex=path, status=status, times=times, retry_after=1)
    call(hook, stack)
    left = emulator.request("GET", "/_emulator/faults").json()["value"]
    assert not any(rule.get("path_regex") == path for rule in left), "the fault never fired"
    ledger.append(FaultOutcome(f"{status} x{times} on {route}", recovered=True, jobs_created=0))


@pytest.mark.parametrize("status", [429, 503, 500])
def test_transient_faults_on_scoring_job_status_and_cancel(stack, hook, emulator, ledger, status):
    name = f"rel-transient-{status}"
    inject(
        emulator, method="POST", path_regex=rf"^/batchEndpoints/{ENDPOINT}/jobs$", status=status, times=1, retry_after=1
    )
    job = hook.invoke_batch_endpoint(ENDPOINT, {"in": stack["fast"]}, job_name=name)["job_name"]
    inject(emulator, method="GET", path_regex=rf"{WS}/jobs/{job}$", status=status, times=1, retry_after=1)
    assert wait_for_job(hook, job)["status"] == "Completed"
    inject(emulator, method="POST", path_regex=rf"{WS}/jobs/{job}/cancel$", status=status, times=1, retry_after=1)
    hook.cancel_job(job)
    assert len(jobs_named(emulator, name)) == 1
    ledger.append(FaultOutcome(f"{status} on scoring POST, job GET, job cancel", recovered=True, jobs_created=1))


def test_long_running_create_fails_then_retry_succeeds(stack, emulator, ledger, context):
    inject(emulator, fail_lro="computes")
    create = AzureMLCreateComputeOperator(task_id="compute", compute_name="rel-quota")
    with pytest.raises(AzureMLRemoteError, match="QuotaExceeded"):
        create.execute(context)
    assert create.execute(context)["name"] == "rel-quota"
    ledger.append(FaultOutcome("create compute ends QuotaExceeded, then retried", recovered=True, jobs_created=0))


def test_scoring_reply_lost_after_submission_finds_the_job(stack, emulator, ledger):
    """The scoring POST took effect but its reply was lost (no job name came back): the hook finds the job by
    the output folder its key chose, instead of resending; a later retry of the task attaches as well."""
    path = rf"^/batchEndpoints/{ENDPOINT}/jobs$"
    inject(emulator, method="POST", path_regex=path, status=503, times=20, after=True)
    first = {"ti": RecordingTaskInstance(run_id="reply-lost")}
    result = operator(inputs=stack["fast"]).execute(first)
    assert result["status"] == "Completed"
    emulator.request("DELETE", "/_emulator/faults")
    again = operator(inputs=stack["fast"]).execute({"ti": RecordingTaskInstance(run_id="reply-lost", try_number=2)})
    assert again["job_name"] == result["job_name"]
    created = jobs_writing_to(emulator, result["output_uri"])
    assert len(created) == 1
    ledger.append(FaultOutcome("scoring reply lost after the job was created (503)", True, len(created)))


def jobs_writing_to(emulator, output_uri: str) -> list[dict]:
    """Jobs with that output folder: the key a logical submission's output carries."""
    jobs = emulator.request("GET", "/_emulator/jobs").json()["value"]
    return [j for j in jobs if output_uri in [o.get("uri") for o in (j["request"].get("outputData") or {}).values()]]


SUBMIT_THEN_WAIT = """
import sys
from tests.integration.operators.conftest import RecordingStateStore, RecordingTaskInstance
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
op = AzureMLInvokeBatchEndpointOperator(
    task_id="score", endpoint_name=sys.argv[1], inputs=sys.argv[2], deployment_name="rel-slow",
    deferrable=False, poll_interval=0.2,
)
op.execute({"ti": RecordingTaskInstance(run_id="sigkill-run")})
"""


def test_worker_killed_after_submission_retry_attaches(stack, hook, wasb, emulator, ledger):
    folder = upload_inputs(wasb, stack["container"], "rel/sigkill", 3)
    worker = subprocess.Popen(
        [sys.executable, "-c", SUBMIT_THEN_WAIT, ENDPOINT, folder], cwd=ROOT, env=os.environ.copy()
    )
    before = len(jobs_named(emulator, "tests-score-"))
    try:
        deadline = time.monotonic() + 120
        while len(jobs_named(emulator, "tests-score-")) == before:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never submitted"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    retried = operator(inputs=folder, deployment_name="rel-slow").execute(
        {"ti": RecordingTaskInstance(run_id="sigkill-run", try_number=2)}
    )
    assert retried["status"] == "Completed"
    created = jobs_writing_to(emulator, retried["output_uri"])
    assert len(created) == 1
    ledger.append(FaultOutcome("worker SIGKILLed right after submitting, task retried", True, len(created)))


def test_emulator_restart_mid_job(stack, hook, wasb, emulator, ledger):
    """A job running when Azure ML (the emulator) restarts starts over and completes; the retried task
    attaches to it: one job, never lost."""
    folder = upload_inputs(wasb, stack["container"], "rel/restart", 20)
    ti = {"ti": RecordingTaskInstance(run_id="restart-run")}
    submitted = operator(inputs=folder, deployment_name="rel-slow", wait_for_completion=False).execute(ti)
    wait_for_job(hook, submitted["job_name"], statuses={"Running"})
    emulator.restart()
    first = wait_for_job(hook, submitted["job_name"])
    assert first["status"] == "Completed"
    retried = operator(inputs=folder, deployment_name="rel-slow").execute(
        {"ti": RecordingTaskInstance(run_id="restart-run", try_number=2)}
    )
    assert retried["status"] == "Completed" and retried["job_name"] == submitted["job_name"]
    created = [
        j for j in jobs_named(emulator, "tests-score-") if j["spec"]["inputs"][0]["uri"].endswith("rel/restart/")
    ]
    ledger.append(FaultOutcome("emulator restarted mid-job, task retried", True, len(created)))
    assert len(created) == 1


@pytest.mark.parametrize("store", [RecordingStateStore, lambda: None], ids=["task_state_store", "no-store"])
def test_failed_job_fails_the_task_and_the_retry_resubmits(stack, hook, emulator, ledger, store):
    inject(emulator, fail_job="next", message="CUDA out of memory (injected)")
    store = store()
    run_id = f"failed-run-{'store' if store is not None else 'none'}"
    ti = {"ti": RecordingTaskInstance(run_id=run_id), "task_state_store": store}
    op = operator(inputs=stack["fast"])
    with pytest.raises(AzureMLJobError, match="CUDA out of memory"):
        op.execute(ti)
    failed = op.job_name
    retry = {"ti": RecordingTaskInstance(run_id=run_id, try_number=2), "task_state_store": store}
    retried = operator(inputs=stack["fast"]).execute(retry)
    assert retried["status"] == "Completed"
    assert retried["job_name"] != failed
    assert retried["output_uri"].endswith("-2/")  # the next output folder of the series
    ledger.append(FaultOutcome("job fails, task retried", True, 2))


def test_job_cancelled_from_outside_fails_the_task(stack, hook, wasb, emulator, ledger):
    folder = upload_inputs(wasb, stack["container"], "rel/outside", 20)
    ti = {"ti": RecordingTaskInstance(run_id="outside-run")}
    submitted = operator(inputs=folder, deployment_name="rel-slow", wait_for_completion=False).execute(ti)
    hook.cancel_job(submitted["job_name"])
    with pytest.raises(AzureMLJobError, match="Canceled"):
        operator(inputs=folder, deployment_name="rel-slow").wait_for_job(ti, submitted["job_name"])
    ledger.append(FaultOutcome("job cancelled from outside: task fails with Canceled", True, 1))


def test_operator_timeout_cancels_the_job(stack, hook, wasb, emulator, ledger):
    folder = upload_inputs(wasb, stack["container"], "rel/timeout", 20)
    op = operator(inputs=folder, deployment_name="rel-slow", timeout=1)
    with pytest.raises(AzureMLJobError, match="did not finish"):
        op.execute({"ti": RecordingTaskInstance(run_id="timeout-run")})
    assert wait_for_job(hook, op.job_name)["status"] == "Canceled"
    ledger.append(FaultOutcome("job exceeds the operator timeout: cancelled", True, 1))


def test_same_blob_change_delivered_twice_scores_once(stack, hook, wasb, emulator, ledger):
    wasb.load_string("pixels", stack["container"], "rel/landing/a.png", overwrite=True)
    props = wasb.get_conn().get_blob_client(stack["container"], "rel/landing/a.png").get_blob_properties()
    uri = "azureml://datastores/workspaceblobstore/paths/rel/landing/a.png"
    name = change_job_name("rel-change", stack["container"], "rel/landing/a.png", props.etag)
    first = hook.invoke_batch_endpoint(ENDPOINT, {"in": {"uri": uri, "type": "uri_file"}}, job_name=name)
    again = hook.invoke_batch_endpoint(ENDPOINT, {"in": {"uri": uri, "type": "uri_file"}}, job_name=name)
    assert (first["attached"], again["attached"]) == (False, True)
    assert again["job_name"] == first["job_name"]
    created = jobs_named(emulator, name)
    assert len(created) == 1
    ledger.append(FaultOutcome("same blob change delivered twice", True, len(created), duplicates=len(created) - 1))
