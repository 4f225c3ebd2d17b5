"""Scenario b: hundreds of deferred job waits over two triggerers; one triggerer is lost (SIGKILL).

The jobs are held on the emulator (``celery-held``) until the test releases them, so every mapped task sits
deferred. Once all the waits are in triggerers, the one holding more is killed with all it runs; the
other finds the orphaned triggers once the dead one's heartbeat is older than the threshold, and takes
them all. Then the jobs are released: every task finishes, and the emulator still has exactly one job per
task, none cancelled (none ever asked to be).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.e2e.api import wait_for
from tests.e2e_celery.cluster import TRIGGERERS
from tests.e2e_celery.conftest import record_figures, upload_inputs
from tests.e2e_celery.runs import jobs_for_folder, mapped_instances, output_key, waits_by_triggerer

pytestmark = [pytest.mark.celery, pytest.mark.timeout(1200)]
DAG_ID = "celery_held_waits"
WAITS = int(os.environ.get("E2E_CELERY_WAITS", "500"))
FOLDER = "celery/handover"
STEM = "held"
LIVE_STATUSES = {"Preparing", "Running"}


def test_waits_move_to_the_surviving_triggerer(api, airflow, postgres, stack, celery_endpoints):
    upload_inputs(stack, FOLDER, STEM, WAITS)
    api.unpause(DAG_ID)
    started = time.monotonic()
    run_id = api.trigger(DAG_ID, {"folder": FOLDER, "stem": STEM, "count": WAITS})["dag_run_id"]
    held = wait_for(
        lambda: (
            (split := waits_by_triggerer(postgres, DAG_ID, run_id)).total() == WAITS and None not in split and split
        ),
        900,
        f"{WAITS} waits in triggerers",
        last=lambda: waits_by_triggerer(postgres, DAG_ID, run_id),
    )
    deferred_s = time.monotonic() - started
    names = airflow.triggerer_job_ids()
    victim_job, victim_waits = held.most_common(1)[0]
    victim = names[victim_job]
    (survivor,) = set(TRIGGERERS) - {victim}
    jobs = jobs_for_folder(stack, celery_endpoints["held"], FOLDER)
    assert len(jobs) == WAITS and {job["status"] for job in jobs} <= LIVE_STATUSES

    killed_at = time.monotonic()
    airflow.kill(victim)
    taken = wait_for(
        lambda: (
            set(split := waits_by_triggerer(postgres, DAG_ID, run_id)) <= {survivor_job(names, survivor, airflow)}
            and split.total() == WAITS
            and split
        ),
        120,
        f"every wait on {survivor}",
        last=lambda: waits_by_triggerer(postgres, DAG_ID, run_id),
    )
    handover_s = time.monotonic() - killed_at
    stack.release(STEM)
    finished = api.wait_run(DAG_ID, run_id, timeout=900)

    assert finished["state"] == "success", api.failure_report(DAG_ID, run_id)
    instances = mapped_instances(api, DAG_ID, run_id)
    assert len(instances) == WAITS and {ti["state"] for ti in instances} == {"success"}
    jobs = jobs_for_folder(stack, celery_endpoints["held"], FOLDER)
    assert len(jobs) == WAITS  # nothing resubmitted
    assert len({output_key(job) for job in jobs}) == WAITS
    assert {job["status"] for job in jobs} == {"Completed"}
    assert not [job["name"] for job in jobs if any("Cancel" in step["status"] for step in job["history"])]
    since = time.time()
    airflow.start(victim)
    airflow.wait_healthy([victim], since=since)
    record_figures(
        "b. triggerer lost",
        waits=WAITS,
        split_before={names[job]: count for job, count in sorted(held.items())},
        killed=victim,
        killed_held=victim_waits,
        all_deferred_s=round(deferred_s, 1),
        handover_s=round(handover_s, 1),
        after_handover={names.get(job, job): count for job, count in taken.items()},
        wall_s=round(time.monotonic() - started, 1),
    )


def survivor_job(names: dict[int, str], survivor: str, airflow) -> int:
    """The surviving triggerer's job id (read again: the map was taken before any restart)."""
    return max(job for job, host in {**names, **airflow.triggerer_job_ids()}.items() if host == survivor)
