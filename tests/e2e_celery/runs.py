"""What the Celery scenarios read back: every mapped task instance (the REST API pages them), the emulator's
jobs for one input folder with their output keys, and which triggerer holds each deferred task's trigger
(the REST API does not say; the metadata database does)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from tests.e2e.api import AirflowApi
from tests.e2e.conftest import E2EStack
from tests.e2e.postgres import PostgresServer

PAGE = 100
DATASTORE = "azureml://datastores/workspaceblobstore/paths/"


def mapped_instances(api: AirflowApi, dag_id: str, run_id: str, task_id: str = "score") -> list[dict]:
    """Every mapped instance of ``task_id`` in the run, by map index."""
    found: list[dict] = []
    while True:
        params = {"task_id": task_id, "limit": PAGE, "offset": len(found), "order_by": "map_index"}
        page = api.json("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params=params)["task_instances"]
        found.extend(page)
        if len(page) < PAGE:
            return found


def jobs_for_folder(stack: E2EStack, endpoint: str, folder: str) -> list[dict]:
    """The emulator's records of the jobs that scored a file of ``folder`` (its admin view of every job)."""
    prefix = f"{DATASTORE}{folder}/"
    return [job for job in stack.jobs(endpoint) if job["request"]["inputData"]["input_data"]["uri"].startswith(prefix)]


def input_uri(job: dict) -> str:
    return job["request"]["inputData"]["input_data"]["uri"]


def output_key(job: dict) -> str:
    """The job's output folder: the key a retried task looks its job up by."""
    return next(iter(job["request"]["outputData"].values()))["uri"]


def waits_by_triggerer(postgres: PostgresServer, dag_id: str, run_id: str) -> Counter:
    """Deferred instances of the run per triggerer job id holding their trigger (None: not yet assigned)."""
    rows = postgres.query(
        "SELECT t.triggerer_id, count(*) FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id"
        " WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.state = 'deferred' GROUP BY t.triggerer_id",
        dag_id,
        run_id,
    )
    return Counter(dict(rows))


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
