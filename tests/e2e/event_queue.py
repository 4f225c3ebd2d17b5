"""What the Event Grid watcher tests add to the session's cluster: Azurite's queue service, a ``wasb_default``
that reaches it, and this directory's ``dags/`` as a second DAG bundle.

The session cluster (``conftest.py``) serves blobs only and parses the example DAGs only; these tests
reconfigure the components that read those settings (dag-processor, scheduler, triggerer) and restart
them once, then put the settings back for later restarts. :class:`EventQueue` is the test's view of one
queue: publishing as Event Grid would (``tests/support/event_grid.py``) and what the queue service reports.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.airflow_cluster import ROOT, AirflowCluster
from tests.support.event_grid import AzuriteQueueProcess, EventGridPublisher, encode

WASB = "AIRFLOW_CONN_WASB_DEFAULT"
BUNDLES = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"
TEST_DAGS = Path(__file__).resolve().parent / "dags"
RECONFIGURED = ("dag-processor", "scheduler", "triggerer")


def dag_bundles() -> str:
    """The example DAGs under their default bundle name, and this directory's test DAGs."""
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    return json.dumps(
        [
            {"name": "dags-folder", "classpath": local, "kwargs": {"path": str(ROOT / "dags")}},
            {"name": "e2e", "classpath": local, "kwargs": {"path": str(TEST_DAGS)}},
        ]
    )


@contextmanager
def with_event_queues(airflow: AirflowCluster, queue_service: AzuriteQueueProcess) -> Iterator[None]:
    """``wasb_default`` with the queue endpoint and the test bundle, in the restarted components; the
    cluster's settings are restored afterwards (the running components keep the extra ones, harmlessly)."""
    saved = {key: airflow.env.get(key) for key in (WASB, BUNDLES)}
    wasb = json.loads(airflow.env[WASB])
    wasb["extra"]["connection_string"] = queue_service.connection_string(wasb["extra"]["connection_string"])
    airflow.env.update({WASB: json.dumps(wasb), BUNDLES: dag_bundles()})
    try:
        restart_together(airflow, RECONFIGURED)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                airflow.env.pop(key, None)
            else:
                airflow.env[key] = value


def restart_together(airflow: AirflowCluster, components: tuple[str, ...]) -> None:
    since = time.time()
    for component in components:
        airflow.stop(component)
    for component in components:
        airflow.start(component)
    airflow.wait_healthy(components, since=since)


class EventQueue:
    """One Storage queue on Azurite: Event Grid's deliveries into it, and the queue service's counts."""

    def __init__(self, storage: str, name: str) -> None:
        from azure.storage.queue import QueueClient

        self.storage = storage
        self.name = name
        self.client = QueueClient.from_connection_string(storage, name)

    def create(self) -> None:
        self.client.create_queue()

    def held(self) -> int:
        """Messages in the queue, visible or not: a received message counts until it is deleted."""
        return self.client.get_queue_properties().approximate_message_count

    def visible(self) -> int:
        """Messages a reader could receive now (a received one is hidden for its visibility timeout)."""
        return len(list(self.client.peek_messages(max_messages=32)))

    def publish_created(self, container: str, name: str) -> dict[str, Any]:
        """Event Grid's ``BlobCreated`` for a blob already written; returns the event (to send it again)."""
        return asyncio.run(self._publish_created(container, name))

    def send_again(self, event: dict[str, Any]) -> None:
        """The same event once more, as Event Grid's at-least-once delivery may."""
        self.client.send_message(encode(event))

    async def _publish_created(self, container: str, name: str) -> dict[str, Any]:
        from azure.storage.blob.aio import BlobServiceClient
        from azure.storage.queue.aio import QueueClient

        async with (
            BlobServiceClient.from_connection_string(self.storage) as blobs,
            QueueClient.from_connection_string(self.storage, self.name) as queue,
        ):
            return await EventGridPublisher(queue).created(blobs.get_blob_client(container, name))
