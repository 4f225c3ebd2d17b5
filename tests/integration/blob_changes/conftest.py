"""Fixtures for the blob-change tests: WASB connections on the shared Azurite, a restartable Azurite for
outage tests, a fresh container per test, and an in-memory stand-in for the asset state store.

Connections are ``AIRFLOW_CONN_<ID>`` environment variables in JSON form, so the real ``WasbAsyncHook``
resolves them exactly as it would in a triggerer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from azure.storage.blob.aio import BlobServiceClient

from airflow_batchml_emulator.stack import AzuriteProcess
from tests.support.blob_changes import CONN_ID, set_connection


@pytest.fixture
def wasb_conn(azurite, monkeypatch) -> str:
    set_connection(monkeypatch, CONN_ID, azurite)
    return CONN_ID


@pytest.fixture
async def container(azurite) -> AsyncIterator[Any]:
    """A fresh container on the shared Azurite (its name is ``container.container_name``)."""
    async with BlobServiceClient.from_connection_string(azurite) as client:
        created = client.get_container_client(f"changes-{uuid.uuid4().hex[:12]}")
        await created.create_container()
        yield created


@pytest.fixture
def outage_azurite(tmp_path) -> Iterator[AzuriteProcess]:
    """An Azurite of its own (fixed port and data directory), which the test may stop and start again."""
    server = AzuriteProcess(tmp_path / "azurite")
    server.start()
    yield server
    server.stop()
