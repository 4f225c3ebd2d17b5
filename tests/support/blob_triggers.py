"""Helpers for the blob-change and Event Grid trigger tests: build a trigger, land a blob, take events."""

from __future__ import annotations

import asyncio
from typing import Any

from azure.storage.queue.aio import QueueClient

from airflow_batchml.triggers.blob_events import EventGridBlobTrigger
from tests.support.event_grid import EventGridPublisher

CONN_ID = "blob_events_wasb"

TIMEOUT = 30.0


def trigger(queue: QueueClient, container: Any, **kwargs: Any) -> EventGridBlobTrigger:
    options = {"wasb_conn_id": CONN_ID, "poll_interval": 0.05, "visibility_timeout": 30, "event_per_blob": True}
    return EventGridBlobTrigger(queue.queue_name, container.container_name, **{**options, **kwargs})


async def take(generator: Any, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events of a running trigger, within a bounded time."""
    events = []
    async with asyncio.timeout(TIMEOUT):
        while len(events) < count:
            events.append((await anext(generator)).payload)
    return events


async def queued(queue: QueueClient) -> int:
    """Messages in the queue, visible or not (a received, undeleted message still counts)."""
    return (await queue.get_queue_properties()).approximate_message_count


async def land(container: Any, publisher: EventGridPublisher, name: str, data: bytes = b"1,2,3\n") -> Any:
    blob = container.get_blob_client(name)
    await blob.upload_blob(data, overwrite=True)
    await publisher.created(blob)
    return await blob.get_blob_properties()


async def until(condition, timeout: float = 30.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)
