"""The fault matrix: Azure's bad days on the emulator, and what the plugin's tasks make of them.

Each scenario injects a fault through the emulator's admin route (or kills / restarts a process), runs
the real operators and hooks, and asserts the task outcome and its measured row (``measure.py``): the
jobs the logical submission created, changes lost, duplicates. The row is recorded whether the scenario
passes or breaks (``scenario``), and ``conftest.py`` prints the table.

The exactly-once scenarios (``both_namings``) run twice: on the emulator naming batch jobs itself, as Azure
ML does, and on a second one keeping the names asked for (``service`` is the one a test runs on). Both write
to the same Azurite, so those scenarios put the mode in their keys (run ids), and their outputs stay apart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from airflow_batchml.exceptions import AzureMLJobError, AzureMLRemoteError
from airflow_batchml.job_names import change_job_name
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator
from tests.reliability.measure import Scenario
from tests.support.stack import both_namings
from tests.support.task_context import RecordingStateStore, RecordingTaskInstance
from tests.support.workspace import DATA, SLOW_SCRIPT, deploy_script, upload_inputs, wait_for_job

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "rel-batch"
WS = r"/workspaces/[^/]+"


@pytest.fixture(scope="module")
def stacks() -> dict[str, dict]:
    """The ``stack`` of each naming mode, deployed when the first scenario in that mode asks for it."""
    return {}


@pytest.fixture
def stack(service, naming, stacks, hook, tmp_path_factory):
    """On the test's emulator: an endpoint with a fast default deployment and a slow one; inputs in the datastore."""
    if naming not in stacks:
        stacks[naming] = deploy_stack(hook, tmp_path_factory)
    return stacks[naming]


def deploy_stack(hook, tmp_path_factory) -> dict:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    hook.ensure_compute("batch-cluster")
    hook.create_or_update_batch_endpoint(ENDPOINT)
    hook.create_or_update_batch_deployment(str(DATA / "deployment.yml"), endpoint_name=ENDPOINT, set_default=True)
    deploy_script(hook, tmp_path_factory.mktemp("rel"), ENDPOINT, "rel-slow", SLOW_SCRIPT, mini_batch_size=1)
    container = hook.get_client().datastores.get("workspaceblobstore").container_name
    wasb = WasbHook(wasb_conn_id="wasb_default")
    return {"container": container, "fast": upload_inputs(wasb, container, "rel/fast", 2)}


def blob_folder(uri: str) -> str:
    """``rel/fast/`` for ``azureml://datastores/workspaceblobstore/paths/rel/fast/``: what ``scenario`` measures."""
    return uri.split("/paths/", 1)[1]


@pytest.fixture
def scenario(service, wasb, stack, ledger) -> Callable[..., Iterator[Scenario]]:
    """``with scenario(fault, inputs=..., group=...) as measured:``; the row is recorded when the block ends,
    measured then if the scenario broke before measuring (its exception goes on)."""

    @contextmanager
    def run(fault: str, inputs: str | None = None, group: str | None = None) -> Iterator[Scenario]:
        measured = Scenario(fault, service, wasb, stack["container"], inputs, group)
        try:
            yield measured
        finally:
            ledger.append(measured.row())

    return run


def inject(emulator, **rule) -> None:
    emulator.request("POST", "/_emulator/faults", json=rule).raise_for_status()


def faults_left(emulator) -> list[dict]:
    """The armed rules that have not fired (all of their times)."""
    return emulator.request("GET", "/_emulator/faults").json()["value"]


@pytest.fixture(autouse=True)
def clear_faults(service):
    yield
    service.request("DELETE", "/_emulator/faults")


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


ARM_GROUP = "429 (Retry-After) x2, 503 x2, 500 x1 on each ARM route the hook uses"


@pytest.mark.parametrize("status", [429, 503, 500])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_transient_faults_on_arm_routes(stack, hook, service, scenario, route, status):
    method, path, call = ROUTES[route]
    times = 1 if status == 500 else 2
    inject(service, method=method, path_regex=path, status=status, times=times, retry_after=1)
    with scenario(f"{status} x{times} on {route}", group=ARM_GROUP) as measured:
        call(hook, stack)
        measured.recovered = not faults_left(service)  # the call succeeded, and only after the fault fired
        row = measured.measure()
    assert row.recovered, "the fault never fired"
    assert row.jobs_created == 0


@pytest.mark.parametrize("status", [429, 503, 500])
def test_transient_faults_on_scoring_job_status_and_cancel(stack, hook, service, scenario, status):
    fault = "429 / 503 / 500 on the scoring POST, job GET and job cancel"
    with scenario(f"{status} on {fault}", inputs=blob_folder(stack["fast"]), group=fault) as measured:
        post = rf"^/batchEndpoints/{ENDPOINT}/jobs$"
        inject(service, method="POST", path_regex=post, status=status, times=1, retry_after=1)
        job = hook.invoke_batch_endpoint(ENDPOINT, {"in": stack["fast"]}, job_name=f"rel-transient-{status}")
        inject(service, method="GET", path_regex=rf"{WS}/jobs/{job['job_name']}$", status=status, retry_after=1)
        completed = wait_for_job(hook, job["job_name"])["status"] == "Completed"
        cancel = rf"{WS}/jobs/{job['job_name']}/cancel$"
        inject(service, method="POST", path_regex=cancel, status=status, retry_after=1)
        hook.cancel_job(job["job_name"])
        measured.recovered = completed and not faults_left(service)
        row = measured.measure()
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 1, 0, 0)


def test_long_running_create_fails_then_retry_succeeds(stack, service, scenario, context):
    inject(service, fail_lro="computes")
    create = AzureMLCreateComputeOperator(task_id="compute", compute_name="rel-quota")
    with scenario("create compute ends `QuotaExceeded` (failed LRO), task retried") as measured:
        with pytest.raises(AzureMLRemoteError, match="QuotaExceeded"):
            create.execute(context)
        measured.recovered = create.execute(context)["name"] == "rel-quota"
        row = measured.measure()
    assert (row.recovered, row.jobs_created) == (True, 0)


@both_namings
def test_scoring_reply_lost_after_submission_finds_the_job(stack, service, scenario, naming):
    """The scoring POST took effect but its replies were lost (no job name came back): the hook finds the
    job by the output folder its key chose, instead of resending; a later retry of the task attaches too."""
    fault = "scoring reply lost after the job was created (503 after the fact, every time), task retried"
    with scenario(fault, inputs=blob_folder(stack["fast"])) as measured:
        inject(
            service, method="POST", path_regex=rf"^/batchEndpoints/{ENDPOINT}/jobs$", status=503, times=20, after=True
        )
        run_id = f"reply-lost-{naming}"
        first = operator(inputs=stack["fast"]).execute({"ti": RecordingTaskInstance(run_id=run_id)})
        service.request("DELETE", "/_emulator/faults")
        again = operator(inputs=stack["fast"]).execute({"ti": RecordingTaskInstance(run_id=run_id, try_number=2)})
        measured.recovered = first["status"] == "Completed" and again["job_name"] == first["job_name"]
        row = measured.measure()
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 1, 0, 0)


@both_namings
def test_scoring_reply_lost_once_is_not_resent_by_the_sdk(stack, service, scenario, naming):
    """One lost reply (503 after the job was created) is what azure-core resends a POST on, and the resend
    would be answered: a second job. The hook sends the scoring POST with the client's resends off and looks
    the job up by its output folder instead."""
    fault = "scoring reply lost once (503 after the job was created), with the SDK's resends in play"
    with scenario(fault, inputs=blob_folder(stack["fast"])) as measured:
        inject(service, method="POST", path_regex=rf"^/batchEndpoints/{ENDPOINT}/jobs$", status=503, after=True)
        ti = RecordingTaskInstance(run_id=f"reply-lost-once-{naming}")
        result = operator(inputs=stack["fast"]).execute({"ti": ti})
        measured.recovered = result["status"] == "Completed" and not faults_left(service)
        row = measured.measure()
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 1, 0, 0)


SUBMIT_THEN_WAIT = """
import sys
from tests.support.task_context import RecordingStateStore, RecordingTaskInstance
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
op = AzureMLInvokeBatchEndpointOperator(
    task_id="score", endpoint_name=sys.argv[1], inputs=sys.argv[2], deployment_name="rel-slow",
    deferrable=False, poll_interval=0.2,
)
op.execute({"ti": RecordingTaskInstance(run_id=sys.argv[3])})
"""


@both_namings
def test_worker_killed_after_submission_retry_attaches(stack, hook, wasb, service, scenario, naming):
    folder = upload_inputs(wasb, stack["container"], "rel/sigkill", 3)
    with scenario("worker SIGKILLed right after submitting, task retried", inputs=blob_folder(folder)) as measured:
        worker = subprocess.Popen(
            [sys.executable, "-c", SUBMIT_THEN_WAIT, ENDPOINT, folder, f"sigkill-{naming}"],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        try:
            deadline = time.monotonic() + 120
            while not measured.jobs():
                assert worker.poll() is None and time.monotonic() < deadline, "the worker never submitted"
                time.sleep(0.1)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        retried = operator(inputs=folder, deployment_name="rel-slow").execute(
            {"ti": RecordingTaskInstance(run_id=f"sigkill-{naming}", try_number=2)}
        )
        measured.recovered = retried["status"] == "Completed"
        row = measured.measure()
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 1, 0, 0)


def test_emulator_restart_mid_job(stack, hook, wasb, service, scenario):
    """A job running when Azure ML (the emulator) restarts starts over and completes; the retried task
    attaches to it: one job, never lost."""
    folder = upload_inputs(wasb, stack["container"], "rel/restart", 8)
    fault = "emulator restarted mid-job (the job starts over and completes), task retried: attaches"
    with scenario(fault, inputs=blob_folder(folder)) as measured:
        ti = {"ti": RecordingTaskInstance(run_id="restart-run")}
        submitted = operator(inputs=folder, deployment_name="rel-slow", wait_for_completion=False).execute(ti)
        wait_for_job(hook, submitted["job_name"], statuses={"Running"})
        service.restart()
        wait_for_job(hook, submitted["job_name"])
        retried = operator(inputs=folder, deployment_name="rel-slow").execute(
            {"ti": RecordingTaskInstance(run_id="restart-run", try_number=2)}
        )
        measured.recovered = retried["status"] == "Completed" and retried["job_name"] == submitted["job_name"]
        row = measured.measure()
    history = [entry["status"] for job in measured.jobs() for entry in job["history"]]
    assert history.count("Running") >= 2, f"the restart did not come mid-job: {history}"
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 1, 0, 0)


@both_namings
@pytest.mark.parametrize("store", [RecordingStateStore, lambda: None], ids=["task_state_store", "no-store"])
def test_failed_job_fails_the_task_and_the_retry_resubmits(stack, hook, service, scenario, store, naming):
    store = store()
    kind = "with" if store is not None else "without"
    fault = "job fails, task retried: the next of the series (with and without task_state_store)"
    with scenario(f"job fails, task retried {kind} task_state_store", blob_folder(stack["fast"]), fault) as measured:
        inject(service, fail_job="next", message="CUDA out of memory (injected)")
        run_id = f"failed-run-{kind}-{naming}"
        op = operator(inputs=stack["fast"])
        with pytest.raises(AzureMLJobError, match="CUDA out of memory"):
            op.execute({"ti": RecordingTaskInstance(run_id=run_id), "task_state_store": store})
        retry = {"ti": RecordingTaskInstance(run_id=run_id, try_number=2), "task_state_store": store}
        retried = operator(inputs=stack["fast"]).execute(retry)
        measured.recovered = retried["status"] == "Completed" and retried["job_name"] != op.job_name
        row = measured.measure()
    assert retried["output_uri"].endswith("-2/")  # the next output folder of the series
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 2, 0, 0)


@both_namings
@pytest.mark.parametrize("store", [RecordingStateStore, lambda: None], ids=["task_state_store", "no-store"])
def test_task_cleared_while_its_job_runs_attaches(stack, hook, wasb, scenario, store, naming):
    """The task is cleared and runs again (same run, a fresh try) while the job its first try started is
    still running (that try handed its wait away: deferred, or its worker went): the new try attaches."""
    folder = upload_inputs(wasb, stack["container"], "rel/cleared", 6)
    store = store()
    kind = "with" if store is not None else "without"
    fault = "task cleared and re-run while its job runs: attaches (with and without task_state_store)"
    with scenario(f"task cleared while its job runs, {kind} task_state_store", blob_folder(folder), fault) as measured:
        run_id = f"cleared-run-{kind}-{naming}"
        first = operator(inputs=folder, deployment_name="rel-slow", wait_for_completion=False).execute(
            {"ti": RecordingTaskInstance(run_id=run_id), "task_state_store": store}
        )
        wait_for_job(hook, first["job_name"], statuses={"Running"})
        # Six files of a second each are left: the new try looks the job up while it runs.
        running = hook.get_job(first["job_name"])["status"] == "Running"
        again = operator(inputs=folder, deployment_name="rel-slow").execute(
            {"ti": RecordingTaskInstance(run_id=run_id, try_number=2), "task_state_store": store}
        )
        measured.recovered = again["status"] == "Completed" and again["job_name"] == first["job_name"]
        row = measured.measure()
    assert running, "the job had finished before the second try began"
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 1, 0, 0)


def test_job_cancelled_from_outside_fails_the_task_and_the_retry_resubmits(stack, hook, wasb, scenario):
    folder = upload_inputs(wasb, stack["container"], "rel/outside", 5)
    fault = "job cancelled from outside: the task fails with `Canceled`, its retry resubmits"
    with scenario(fault, inputs=blob_folder(folder)) as measured:
        ti = {"ti": RecordingTaskInstance(run_id="outside-run")}
        first = operator(inputs=folder, deployment_name="rel-slow", wait_for_completion=False)
        submitted = first.execute(ti)
        hook.cancel_job(submitted["job_name"])
        with pytest.raises(AzureMLJobError, match="Canceled"):
            first.wait_for_job(ti, submitted["job_name"])
        retried = operator(inputs=folder, deployment_name="rel-slow").execute(
            {"ti": RecordingTaskInstance(run_id="outside-run", try_number=2)}
        )
        measured.recovered = retried["status"] == "Completed" and retried["job_name"] != submitted["job_name"]
        row = measured.measure()
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 2, 0, 0)


def test_operator_timeout_cancels_the_job_and_the_retry_resubmits(stack, hook, wasb, scenario):
    folder = upload_inputs(wasb, stack["container"], "rel/timeout", 5)
    fault = "job exceeds the operator timeout: cancelled; task retried with a longer timeout"
    with scenario(fault, inputs=blob_folder(folder)) as measured:
        op = operator(inputs=folder, deployment_name="rel-slow", timeout=1)
        with pytest.raises(AzureMLJobError, match="did not finish"):
            op.execute({"ti": RecordingTaskInstance(run_id="timeout-run")})
        cancelled = wait_for_job(hook, op.job_name)["status"] == "Canceled"
        retried = operator(inputs=folder, deployment_name="rel-slow", timeout=120).execute(
            {"ti": RecordingTaskInstance(run_id="timeout-run", try_number=2)}
        )
        measured.recovered = cancelled and retried["status"] == "Completed"
        row = measured.measure()
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 2, 0, 0)


@both_namings
def test_same_blob_change_delivered_twice_scores_once(stack, hook, wasb, scenario, naming):
    """Whoever names the jobs, the second delivery finds the first's job by its keyed output and attaches."""
    wasb.load_string("pixels", stack["container"], "rel/landing/a.png", overwrite=True)
    props = wasb.get_conn().get_blob_client(stack["container"], "rel/landing/a.png").get_blob_properties()
    uri = "azureml://datastores/workspaceblobstore/paths/rel/landing/a.png"
    name = change_job_name(f"rel-change-{naming}", stack["container"], "rel/landing/a.png", props.etag)
    with scenario("same blob change delivered twice (1 landed)", inputs="rel/landing/") as measured:
        first = hook.invoke_batch_endpoint(ENDPOINT, {"in": {"uri": uri, "type": "uri_file"}}, job_name=name)
        again = hook.invoke_batch_endpoint(ENDPOINT, {"in": {"uri": uri, "type": "uri_file"}}, job_name=name)
        completed = wait_for_job(hook, first["job_name"])["status"] == "Completed"
        measured.recovered = completed and again["job_name"] == first["job_name"]
        row = measured.measure()
    assert (first["attached"], again["attached"]) == (False, True)
    assert (first["job_name"] == name) == (naming == "requested-names"), "the emulator is not in this naming mode"
    assert (row.recovered, row.jobs_created, row.changes_lost, row.duplicates) == (True, 1, 0, 0)
