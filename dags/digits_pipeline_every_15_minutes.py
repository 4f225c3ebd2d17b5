"""Time-based schedule on the v2 form: run the digits pipeline deployment every 15 minutes.

SDK v1 ``Schedule.create(..., recurrence=ScheduleRecurrence(frequency="Minute", interval=15))`` on a
published pipeline becomes a cron DAG ``*/15 * * * *`` (``catchup=False``: a paused DAG does not replay
missed slots) that invokes the pipeline component deployment. The quarter hour's images are read from
``digits/by-interval/<slot end>/``; the pipeline's two named outputs go to
``digits/pipeline-by-interval/<slot end>/{features,predictions}/``. What v1 passed as pipeline parameters
are job inputs: the folder (a data input) and ``pixel_scale`` (a literal). An empty slot skips the run.
Needs the endpoint from ``digits_pipeline_deployment``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from airflow.sdk import dag, task
from digits.pipelines import ENDPOINT, FOLDER_DEPLOYMENT, MODEL
from digits.storage import DATASTORE

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator

SLOT = "{{ data_interval_end | ts_nodash }}"
OUTPUT = f"{DATASTORE}/digits/pipeline-by-interval/{SLOT}"
log = logging.getLogger(__name__)


@dag(
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["azure-ml", "pipeline-component", "schedule"],
)
def digits_pipeline_every_15_minutes():
    @task.short_circuit
    def slot_has_images(folder: str) -> bool:
        from digits.storage import list_folder

        count = len(list_folder(folder))
        log.info("%d file(s) in %s", count, folder)
        return count > 0

    score = AzureMLInvokeBatchEndpointOperator(
        task_id="run_pipeline",
        endpoint_name=ENDPOINT,
        deployment_name=FOLDER_DEPLOYMENT,
        inputs={"images": f"{DATASTORE}/digits/by-interval/{SLOT}/", "model": MODEL, "pixel_scale": 15},
        outputs={"features": f"{OUTPUT}/features/", "predictions": f"{OUTPUT}/predictions/"},
        experiment_name="digits-every-15-minutes",
        poll_interval=2,
        timeout=600,
    )

    @task
    def report_accuracy(result: dict) -> dict:
        from digits.pipelines import pipeline_accuracy

        summary = pipeline_accuracy(result)
        log.info("Slot summary %s", json.dumps(summary))
        return summary

    slot_has_images(f"digits/by-interval/{SLOT}") >> score
    report_accuracy(score.output)


digits_pipeline_every_15_minutes()
