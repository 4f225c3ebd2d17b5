"""The watcher of the redelivery end-to-end test (``tests/e2e/test_blob_event_watcher.py``).

``digits_on_blob_event`` with settings a test can wait out: a 2 s poll and a 20 s visibility timeout (the
example's is 300 s), so a message the triggerer received but never handed over comes back within the
test; a restarted triggerer takes the watcher over only ~30 s after the lost one's last heartbeat anyway,
and 20 s leave a slow hand-over ample time before a message could come back a third time. It scores
nothing: the run's one task returns the names of the blobs it was started for.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetWatcher, dag, task

from airflow_batchml.triggers.blob_events import EventGridBlobTrigger

CONTAINER = "azureml-blobstore"  # the e2e stack's workspace container
FOLDER = "e2e/redelivery/"
QUEUE = "e2e-redelivery-events"
POLL_INTERVAL = 2
VISIBILITY_TIMEOUT = 20

redelivered = Asset(
    name="e2e_redelivery_events",
    uri=f"wasb://{CONTAINER}/{FOLDER}",
    watchers=[
        AssetWatcher(
            name="e2e_redelivery_queue",
            trigger=EventGridBlobTrigger(
                queue_name=QUEUE,
                container_name=CONTAINER,
                blob_path_begins_with=FOLDER,
                event_per_blob=True,
                poll_interval=POLL_INTERVAL,
                visibility_timeout=VISIBILITY_TIMEOUT,
                job_name_prefix="e2e-redelivery",
            ),
        )
    ],
)


@dag(schedule=[redelivered], catchup=False, tags=["e2e"])
def e2e_blob_event_redelivery():
    @task
    def delivered_blobs(triggering_asset_events=None) -> list[str]:
        return [
            blob["name"]
            for events in (triggering_asset_events or {}).values()
            for event in events
            for blob in (event.extra.get("payload") or {}).get("blobs", [])
        ]

    delivered_blobs()


e2e_blob_event_redelivery()
