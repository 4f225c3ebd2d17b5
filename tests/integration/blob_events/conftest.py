"""Fixtures for the Event Grid trigger tests: Azurite's real queue service beside the shared blob service,
a WASB connection reaching both, a fresh container and queue per test, and the Event Grid stand-in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueClient

from tests.support.blob_triggers import CONN_ID
from tests.support.event_grid import AzuriteQueueProcess, EventGridPublisher


@pytest.fixture(scope="session")
def azurite_queue(tmp_path_factory) -> AzuriteQueueProcess:
    """A fresh Azurite queue service on a free 127.0.0.1 port, stopped by pid."""
    process = AzuriteQueueProcess(tmp_path_factory.mktemp("azurite-queue"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def storage(azurite, azurite_queue) -> str:
    """One connection string for the shared Azurite blob service and the queue service."""
    return azurite_queue.connection_string(azurite)


@pytest.fixture
def wasb_conn(storage, monkeypatch) -> str:
    payload = {"conn_type": "wasb", "extra": {"connection_string": storage}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(payload))
    return CONN_ID


@pytest.fixture
async def container(storage) -> AsyncIterator[Any]:
    async with BlobServiceClient.from_connection_string(storage) as client:
        created = client.get_container_client(f"events-{uuid.uuid4().hex[:12]}")
        await created.create_container()
        yield created


@pytest.fixture
async def queue(storage) -> AsyncIterator[QueueClient]:
    async with QueueClient.from_connection_string(storage, f"events-{uuid.uuid4().hex[:12]}") as client:
        await client.create_queue()
        yield client


@pytest.fixture
def publisher(queue) -> EventGridPublisher:
    return EventGridPublisher(queue)
