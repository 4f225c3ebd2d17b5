"""Event-based schedule: score each digit image as Event Grid reports it, at a cost that follows the changes.

The Event Grid form of ``digits_on_blob_change``, as Data Factory's storage event trigger is of a
scheduled folder scan. An Event Grid subscription on the storage account's system topic delivers
``Microsoft.Storage.BlobCreated`` events for ``digits/events/*.png`` to the Storage queue
``DIGITS_EVENT_QUEUE``; the ``AssetWatcher`` below reads them with ``EventGridBlobTrigger`` (in the
triggerer) and each created image becomes one asset event; events stored within one scheduler loop share
a run, which scores each of its images (mapped). A poll reads the queue, not the folder: its cost does not
grow with the number of images already there. The records and
job names are the listing trigger's (``job_name`` from container, name and etag), so a message delivered
twice (after a triggerer restart) attaches to the job of the first delivery.

Set-up on Azure (README, "Blob changes from Event Grid"): a queue in the storage account, and
``az eventgrid system-topic event-subscription create`` with ``--endpoint-type storagequeue``,
``--included-event-types Microsoft.Storage.BlobCreated`` and subject filters
``/blobServices/default/containers/<container>/blobs/digits/events/`` and ``.png``.
Needs the endpoint from ``digits_batch_scoring``.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from airflow.sdk import Asset, AssetWatcher, dag, task
from digits.storage import CONTAINER, DATASTORE

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.triggers.blob_events import EventGridBlobTrigger

FOLDER = "digits/events/"
QUEUE = os.environ.get("DIGITS_EVENT_QUEUE", "digits-blob-events")
JOB_PREFIX = "digits-on-blob-event"
log = logging.getLogger(__name__)

digit_events = Asset(
    name="digits_blob_events",
    uri=f"wasb://{CONTAINER}/{FOLDER}",
    watchers=[
        AssetWatcher(
            name="digits_blob_events_queue",
            trigger=EventGridBlobTrigger(
                queue_name=QUEUE,
                container_name=CONTAINER,
                blob_path_begins_with=FOLDER,
                blob_path_ends_with=".png",
                event_per_blob=True,  # one asset event per created image (events stored together share a run)
                poll_interval=5,
                datastore="workspaceblobstore",
                job_name_prefix=JOB_PREFIX,
            ),
        )
    ],
)


@dag(schedule=[digit_events], catchup=False, tags=["azure-ml", "batch-endpoint", "blob-event"])
def digits_on_blob_event():
    @task
    def created_images(triggering_asset_events=None) -> list[dict]:
        """One scoring request per created image: its uri_file input and the record's job name."""
        from urllib.parse import quote

        blobs = [
            blob
            for events in (triggering_asset_events or {}).values()
            for event in events
            for blob in (event.extra.get("payload") or {}).get("blobs", [])
        ]
        log.info("%d created image(s) to score", len(blobs))
        return [
            {
                "inputs": {"input_data": {"uri": f"{DATASTORE}/{quote(blob['name'])}", "type": "uri_file"}},
                "job_name": blob["job_name"],
            }
            for blob in blobs
        ]

    # Retries attach to the job of their image (deterministic names); see digits_on_blob_change for why
    # a one-image job needs them on Airflow 3.3.
    AzureMLInvokeBatchEndpointOperator.partial(
        task_id="score_image",
        endpoint_name="digits-batch",
        poll_interval=2,
        timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),
    ).expand_kwargs(created_images())


digits_on_blob_event()
