"""Change-based schedule: score exactly the digit images that were added or modified, as they land.

The Airflow form of an SDK v1 schedule with ``data_path_parameter_name``: an ``Asset`` whose
``AssetWatcher`` runs ``WasbBlobChangeTrigger`` on ``digits/incoming/`` of the workspace container (in the
triggerer, no DAG run needed to poll). Each change becomes an asset event and starts this DAG; the first
task reads the changed blobs from ``triggering_asset_events`` and the scoring task is mapped over them,
one ``uri_file`` input per blob version. Job names come from ``change_job_name`` (container, blob name,
etag), so an event the trigger delivers twice attaches to the job of the first delivery instead of
scoring the blob again; an image uploaded again with the same bytes is no change at all
(``ignore_same_content``: the watcher compares Content-MD5s).

Triggered by hand (no asset event), it scores the blob records given in the ``blobs`` param: the
payload's own shape (``container``, ``name``, ``etag``), so a change can be replayed from the UI.
Needs the endpoint from ``digits_batch_scoring``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import Asset, AssetWatcher, Param, dag, task
from digits.storage import CONTAINER, DATASTORE, WATCH_POLL_INTERVAL

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger

FOLDER = "digits/incoming/"
JOB_PREFIX = "digits-on-blob-change"
log = logging.getLogger(__name__)

incoming_digits = Asset(
    name="digits_incoming",
    uri=f"wasb://{CONTAINER}/{FOLDER}",
    watchers=[
        AssetWatcher(
            name="digits_incoming_changes",
            trigger=WasbBlobChangeTrigger(
                container_name=CONTAINER,
                prefix=FOLDER,
                glob="*.png",
                ignore_same_content=True,  # an image uploaded again unchanged is not scored again
                poll_interval=WATCH_POLL_INTERVAL,
                datastore="workspaceblobstore",
                job_name_prefix=JOB_PREFIX,
            ),
        )
    ],
)


@dag(
    schedule=[incoming_digits],
    catchup=False,
    params={
        "blobs": Param(
            [],
            type="array",
            description="Blob records to score when triggered by hand: {container, name, etag} as the "
            "change trigger reports them. Ignored for runs started by a change.",
        )
    },
    tags=["azure-ml", "batch-endpoint", "blob-change"],
)
def digits_on_blob_change():
    @task
    def changed_images(triggering_asset_events=None, params=None) -> list[dict]:
        """One scoring request per changed blob version: its uri_file input and its change job name."""
        from urllib.parse import quote  # a datastore path is a URL path: a name like "a%41.png" is encoded

        from airflow_batchml.job_names import change_job_name

        blobs = [
            blob
            for events in (triggering_asset_events or {}).values()
            for event in events
            for blob in (event.extra.get("payload") or {}).get("blobs", [])
        ] or params["blobs"]
        log.info("%d changed blob(s) to score", len(blobs))
        return [
            {
                "inputs": {"input_data": {"uri": f"{DATASTORE}/{quote(blob['name'])}", "type": "uri_file"}},
                "job_name": change_job_name(JOB_PREFIX, blob["container"], blob["name"], blob["etag"]),
            }
            for blob in blobs
        ]

    # Retries are safe (a retry attaches to the job of its change) and needed: a one-image job ends within
    # seconds, and Airflow 3.3 can fail a deferred task whose trigger fires that soon (apache/airflow#72716).
    score = AzureMLInvokeBatchEndpointOperator.partial(
        task_id="score_image",
        endpoint_name="digits-batch",
        poll_interval=2,
        timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),
    ).expand_kwargs(changed_images())

    @task
    def collect_predictions(results: list[dict]) -> dict[str, int]:
        """Each job's append_row output holds one line, ``<file> <digit>``."""
        from digits.evaluation import read_predictions

        predictions = {}
        for result in results:
            content = read_predictions(result)
            for line in content.splitlines():
                if line.strip():
                    name, digit = line.split()
                    predictions[name] = int(float(digit))
        log.info("Predictions: %s", predictions)
        return predictions

    collect_predictions(score.output)


digits_on_blob_change()
