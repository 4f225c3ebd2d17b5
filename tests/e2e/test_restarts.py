"""Components restarted under load, as deploys and crashes do: a scoring job is held running on the
emulator (``digits-held`` endpoint) while its task is deferred, then the triggerer or the scheduler is
stopped (SIGTERM to its process group) and started again. The run still succeeds, and the emulator shows
exactly one job for it: nothing cancelled, nothing submitted twice."""

from __future__ import annotations

import time

import pytest

from tests.e2e.api import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
DAG_ID = "digits_on_demand"
RUN_TIMEOUT = 180
STOP_LIMIT = 20
TERMINAL_STATUSES = {"Completed", "Failed", "Canceled"}
LIVE_STATUSES = {"NotStarted", "Queued", "Preparing", "Starting", "Running"}


def start_held_run(api, stack, endpoint: str, stem: str) -> tuple[str, str]:
    """Trigger a run on the held endpoint and wait until its task is deferred; returns (run id, input URI)."""
    inputs = stack.copy_digits(f"e2e/{stem}", stem, 4)
    api.unpause(DAG_ID)
    run = api.trigger(DAG_ID, {"endpoint_name": endpoint, "input_path": inputs, "mini_batch_size": 2})
    api.wait_task_state(DAG_ID, run["dag_run_id"], "score", "deferred", timeout=120)
    return run["dag_run_id"], inputs


def jobs_for(stack, endpoint: str, inputs: str) -> list[dict]:
    return [job for job in stack.jobs(endpoint) if job["request"]["inputData"]["input_data"]["uri"] == inputs]


def triggerer_of(postgres, run_id: str) -> int | None:
    """Which triggerer job holds the deferred task's trigger (the REST API does not say)."""
    rows = postgres.query(
        "SELECT t.triggerer_id FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
        "WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.task_id = 'score'",
        DAG_ID,
        run_id,
    )
    return rows[0][0] if rows else None


def trigger_log(airflow, run_id: str, triggerer_id: int) -> str:
    """What the trigger logged while it ran in that triggerer (Airflow writes one file per triggerer)."""
    path = airflow.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / "task_id=score"
    path = path / f"attempt=1.log.trigger.{triggerer_id}.log"
    return path.read_text() if path.exists() else ""


def assert_one_completed_job(api, stack, endpoint: str, run_id: str, inputs: str) -> None:
    finished = api.wait_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)
    assert finished["state"] == "success", api.failure_report(DAG_ID, run_id)
    (job,) = jobs_for(stack, endpoint, inputs)
    assert job["status"] == "Completed"
    assert job["progress"]["done"] == 2
    assert api.xcom(DAG_ID, run_id, "score")["job_name"] == job["name"]


def test_deferred_task_survives_a_triggerer_restart(api, airflow, postgres, stack, held_endpoint):
    run_id, inputs = start_held_run(api, stack, held_endpoint, "triggerer-restart")
    old_triggerer = wait_for(lambda: triggerer_of(postgres, run_id), 60, "the trigger to be assigned")
    wait_for(lambda: "is Running" in trigger_log(airflow, run_id, old_triggerer), 60, "the trigger to poll the job")

    stopping = time.monotonic()
    airflow.stop("triggerer")
    stop_seconds = time.monotonic() - stopping
    airflow.restart("triggerer")
    new_triggerer = wait_for(
        lambda: triggerer_of(postgres, run_id) not in (None, old_triggerer) and triggerer_of(postgres, run_id),
        90,
        "the restarted triggerer to take the trigger over",
    )

    assert new_triggerer != old_triggerer
    assert stop_seconds < STOP_LIMIT  # the trigger let the triggerer shut down, nothing had to be killed
    assert api.task_states(DAG_ID, run_id) == {"score": "deferred"}
    (job,) = jobs_for(stack, held_endpoint, inputs)
    assert job["status"] in LIVE_STATUSES  # the shutdown did not cancel the job
    stack.release("triggerer-restart")
    assert_one_completed_job(api, stack, held_endpoint, run_id, inputs)


def test_run_in_flight_survives_a_scheduler_restart(api, airflow, stack, held_endpoint):
    run_id, inputs = start_held_run(api, stack, held_endpoint, "scheduler-restart")

    airflow.stop("scheduler")
    stack.release("scheduler-restart")  # the job ends and the trigger fires while no scheduler runs
    wait_for(lambda: jobs_for(stack, held_endpoint, inputs)[0]["status"] == "Completed", 90, "the held job to complete")
    airflow.restart("scheduler")

    assert_one_completed_job(api, stack, held_endpoint, run_id, inputs)


def test_marking_the_deferred_task_failed_cancels_its_job(api, airflow, postgres, stack, held_endpoint):
    """The other side of the restart tests: a user's action is not a restart, so the job is cancelled."""
    run_id, inputs = start_held_run(api, stack, held_endpoint, "user-kill")
    triggerer = wait_for(lambda: triggerer_of(postgres, run_id), 60, "the trigger to be assigned")
    wait_for(lambda: "is Running" in trigger_log(airflow, run_id, triggerer), 60, "the trigger to poll the job")

    api.json("PATCH", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/score", json={"new_state": "failed"})
    wait_for(
        lambda: jobs_for(stack, held_endpoint, inputs)[0]["status"] in {"CancelRequested", "Canceled"},
        60,
        "the job to be cancelled",
    )
    stack.release("user-kill")

    job = wait_for(
        lambda: (job := jobs_for(stack, held_endpoint, inputs)[0])["status"] in TERMINAL_STATUSES and job,
        60,
        "the job to end",
    )
    assert job["status"] == "Canceled"
    assert api.run(DAG_ID, run_id)["state"] == "failed"
    assert "--- log of score, try 1 ---" in api.failure_report(DAG_ID, run_id)  # what failed runs report
