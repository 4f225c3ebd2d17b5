"""Scenario c: a Celery worker is lost (SIGKILL to everything it runs) right after its task submitted a job.

The task's first read of its job is throttled (429 with Retry-After, as Azure throttles), which holds the
task on its worker between the submission and the deferral; the test sees the job on the emulator, sees
the throttled read taken, and kills that worker. The scheduler fails the task for its missing heartbeat,
the retry runs on the other worker and attaches to the job the first try saved: the emulator has exactly
one job for the task's key, and it completes.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.api import wait_for
from tests.e2e_celery.cluster import WORKERS
from tests.e2e_celery.conftest import record_figures, upload_inputs
from tests.e2e_celery.runs import jobs_for_folder, mapped_instances

pytestmark = [pytest.mark.celery, pytest.mark.timeout(600)]
DAG_ID = "celery_held_waits"
FOLDER = "celery/worker-loss"
STEM = "lost"
THROTTLE = {"path_regex": r"/workspaces/[^/]+/jobs/[^/]+$", "method": "GET", "status": 429, "retry_after": 90}


def test_a_lost_worker_s_task_attaches_to_its_job_on_retry(api, airflow, stack, celery_endpoints):
    upload_inputs(stack, FOLDER, STEM, 1)
    stack.emulator.request("POST", "/_emulator/faults", json=THROTTLE).raise_for_status()
    api.unpause(DAG_ID)
    started = time.monotonic()
    run = api.trigger(DAG_ID, {"folder": FOLDER, "stem": STEM, "count": 1})
    run_id = run["dag_run_id"]
    (job,) = wait_for(lambda: jobs_for_folder(stack, celery_endpoints["held"], FOLDER), 300, "the task's job")
    wait_for(lambda: not stack.emulator.request("GET", "/_emulator/faults").json()["value"], 60, "the throttled read")
    (first,) = mapped_instances(api, DAG_ID, run_id)
    assert first["state"] == "running" and first["hostname"] in WORKERS, first

    killed_at = time.monotonic()
    airflow.kill(first["hostname"])
    stack.release(STEM)
    finished = api.wait_run(DAG_ID, run_id, timeout=300)

    recovered = time.monotonic() - killed_at
    assert finished["state"] == "success", api.failure_report(DAG_ID, run_id)
    (retried,) = mapped_instances(api, DAG_ID, run_id)
    assert retried["try_number"] == 2
    assert retried["hostname"] != first["hostname"]
    (same,) = jobs_for_folder(stack, celery_endpoints["held"], FOLDER)  # exactly one job for the key
    assert same["name"] == job["name"]
    assert same["status"] == "Completed"
    assert api.xcom(DAG_ID, run_id, "score", map_index=0)["job_name"] == job["name"]
    since = time.time()
    airflow.start(first["hostname"])
    airflow.wait_healthy([first["hostname"]], since=since)
    record_figures(
        "c. worker lost",
        killed=first["hostname"],
        retry_on=retried["hostname"],
        jobs=1,
        kill_to_success_s=round(recovered, 1),
        wall_s=round(time.monotonic() - started, 1),
    )
