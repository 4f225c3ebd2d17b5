"""Scenario a: hundreds of mapped scoring tasks over two Celery workers, one small job each.

Every task succeeds, the emulator holds exactly one job per task (one per output key and one per input:
no duplicates), and both workers ran tasks (each task instance records its worker's host name). The run's
wall time and the scheduler's throughput (task instances finished per second of the run) are recorded.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest

from tests.e2e_celery.cluster import WORKERS
from tests.e2e_celery.conftest import record_figures, upload_inputs
from tests.e2e_celery.runs import input_uri, jobs_for_folder, mapped_instances, output_key, seconds_between

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]
DAG_ID = "celery_fan_out"
FAN_OUT = int(os.environ.get("E2E_CELERY_FAN_OUT", "200"))
FOLDER = "celery/fan-out"
RUN_TIMEOUT = 600


def test_mapped_scoring_spreads_over_both_workers_without_duplicates(api, stack, celery_endpoints):
    upload_inputs(stack, FOLDER, "fan", FAN_OUT)
    api.unpause(DAG_ID)
    started = time.monotonic()

    run = api.trigger(DAG_ID, {"folder": FOLDER, "stem": "fan", "count": FAN_OUT})
    finished = api.wait_run(DAG_ID, run["dag_run_id"], timeout=RUN_TIMEOUT)

    wall = time.monotonic() - started
    assert finished["state"] == "success", api.failure_report(DAG_ID, run["dag_run_id"])
    instances = mapped_instances(api, DAG_ID, run["dag_run_id"])
    assert [ti["map_index"] for ti in instances] == list(range(FAN_OUT))
    assert {ti["state"] for ti in instances} == {"success"}
    hosts = Counter(ti["hostname"] for ti in instances)
    assert set(hosts) == set(WORKERS), hosts
    jobs = jobs_for_folder(stack, celery_endpoints["quick"], FOLDER)
    assert len(jobs) == FAN_OUT
    assert len({output_key(job) for job in jobs}) == FAN_OUT  # no output key scored twice
    assert len({input_uri(job) for job in jobs}) == FAN_OUT
    assert {job["status"] for job in jobs} == {"Completed"}
    run_seconds = seconds_between(finished["start_date"], finished["end_date"])
    record_figures(
        "a. fan-out",
        tasks=FAN_OUT,
        jobs=len(jobs),
        duplicates=len(jobs) - len({output_key(job) for job in jobs}),
        tasks_per_worker=dict(sorted(hosts.items())),
        retried=sum(ti["try_number"] > 1 for ti in instances),
        wall_s=round(wall, 1),
        run_s=round(run_seconds, 1),
        tasks_per_s=round((FAN_OUT + 1) / run_seconds, 2),
    )
