"""Time-based schedule: score the digit images that landed in each quarter hour, every 15 minutes.

The Airflow form of an SDK v1 ``ScheduleRecurrence(frequency="Minute", interval=15)``: a cron schedule
``*/15 * * * *`` with ``catchup=False`` (a paused or late DAG does not replay missed slots). Upstream writes
each quarter hour's images to ``digits/by-interval/<slot end, e.g. 20260101T001500>/`` in the workspace
datastore; the run that fires at the end of a slot scores that folder, chosen through Jinja from
``data_interval_end`` (which is the run's trigger time whether or not Airflow is set to create cron data
intervals), and writes predictions.csv to ``digits/scored/<slot end>/``. An empty slot skips the run's
scoring instead of failing it. Needs the endpoint from ``digits_batch_scoring``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from airflow.sdk import dag, task
from digits.storage import DATASTORE

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator

SLOT = "{{ data_interval_end | ts_nodash }}"
log = logging.getLogger(__name__)


@dag(
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["azure-ml", "batch-endpoint", "schedule"],
)
def digits_every_15_minutes():
    @task.short_circuit
    def slot_has_images(folder: str) -> bool:
        """Skip scoring when nothing landed in this slot."""
        from digits.storage import list_folder

        count = len(list_folder(folder))
        log.info("%d file(s) in %s", count, folder)
        return count > 0

    score = AzureMLInvokeBatchEndpointOperator(
        task_id="score_slot",
        endpoint_name="digits-batch",
        inputs=f"{DATASTORE}/digits/by-interval/{SLOT}/",
        output_path=f"{DATASTORE}/digits/scored/{SLOT}/",
        poll_interval=2,
        timeout=600,
    )

    @task
    def report_accuracy(result: dict) -> dict:
        from digits.evaluation import job_accuracy

        summary = job_accuracy(result)
        log.info("Slot summary %s", json.dumps(summary))
        return summary

    slot_has_images(f"digits/by-interval/{SLOT}") >> score
    report_accuracy(score.output)


digits_every_15_minutes()
