"""Fresh predictions as an Airflow Asset: a downstream DAG runs each time a scoring job has written them.

``digits_predictions_publisher`` scores a folder of digit images (the ``input`` param; the seeded images by
default) into the fixed folder ``digits/predictions/latest/`` of the workspace datastore and declares that
folder as the scoring task's outlet (``output_asset``). When the task succeeds Airflow records an asset
event, and ``digits_predictions_consumer``, scheduled on the asset, is queued: it reads predictions.csv and
logs how many images went to each digit. With the OpenLineage provider installed, the scoring task's
lineage event names the same folder as its output dataset (``wasbs://<container>@<account>.dfs.<suffix>``,
``digits/predictions/latest``). Needs the endpoint from ``digits_batch_scoring``.
"""

from __future__ import annotations

import collections
import json
import logging

from airflow.sdk import dag, task
from digits.storage import DATASTORE, IMAGES

from airflow_batchml.lineage import output_asset
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator

PREDICTIONS = output_asset(f"{DATASTORE}/digits/predictions/latest/", name="digits_predictions")
log = logging.getLogger(__name__)


@dag(schedule=None, catchup=False, params={"input": IMAGES}, tags=["azure-ml", "batch-endpoint", "asset"])
def digits_predictions_publisher():
    AzureMLInvokeBatchEndpointOperator(
        task_id="score_images",
        endpoint_name="digits-batch",
        inputs="{{ params.input }}",
        output_path=PREDICTIONS.uri,
        outlets=[PREDICTIONS],
        poll_interval=2,
        timeout=1800,
        retries=1,  # a short job may meet apache/airflow#72716; the retry attaches to the job that ran
    )


@dag(schedule=[PREDICTIONS], catchup=False, tags=["azure-ml", "asset"])
def digits_predictions_consumer():
    @task
    def count_digits(triggering_asset_events=None) -> dict[str, int]:
        """How many images each digit got in the predictions that triggered this run."""
        from airflow_batchml.hooks.azure_ml import AzureMLHook

        for event in (triggering_asset_events or {}).get(PREDICTIONS, []):
            log.info("Triggered by %s from %s", event.asset.uri, event.source_run_id)
        csv = AzureMLHook().read_datastore_file(f"{PREDICTIONS.uri}/predictions.csv").decode()
        counts = collections.Counter(str(int(float(line.split()[1]))) for line in csv.splitlines() if line.strip())
        summary = {digit: counts[digit] for digit in sorted(counts)}
        log.info("PREDICTIONS SUMMARY %s", json.dumps(summary))
        return summary

    count_digits()


digits_predictions_publisher()
digits_predictions_consumer()
