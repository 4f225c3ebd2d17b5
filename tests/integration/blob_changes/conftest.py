"""Fixtures for the blob-change tests: WASB connections on the shared Azurite, a restartable Azurite for
outage tests, a fresh container per test, and an in-memory stand-in for the asset state store.

Connections are ``AIRFLOW_CONN_<ID>`` environment variables in JSON form, so the real ``WasbAsyncHook``
resolves them exactly as it would in a triggerer.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas
from azure.storage.blob import BlobServiceClient as SyncBlobServiceClient
from azure.storage.blob.aio import BlobServiceClient

from airflow_batchml_emulator.stack import AzuriteProcess

CONN_ID = "blob_changes_wasb"
EVENT_TIMEOUT = 30.0


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_str: str, **extra: Any) -> None:
    payload = {"conn_type": "wasb", "extra": {"connection_string": conn_str, **extra}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(payload))


def account_sas(account: str, key: str) -> str:
    """An account SAS allowing everything a DAG does with blobs, for two hours."""
    return generate_account_sas(
        account,
        key,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=2),
    )


def sas_only_connection_string(conn_str: str) -> str:
    """The connection string of ``conn_str``'s account with an account SAS instead of its key.

    A client built from it carries the SAS in its ``url``, which record URIs must not inherit.
    """
    client = SyncBlobServiceClient.from_connection_string(conn_str)
    sas = account_sas(client.account_name, client.credential.account_key)
    return f"BlobEndpoint={client.url.rstrip('/')};SharedAccessSignature={sas}"


class MemoryAssetStore:
    """The ``aget``/``aset`` surface of Airflow's asset state store accessor, kept in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)
        self.writes += 1


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


async def next_event(events: AsyncIterator[Any], timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
    """The next event payload of a running trigger generator, bounded so a missed change fails fast."""
    event = await asyncio.wait_for(anext(events), timeout)
    return event.payload


async def upload(container: Any, name: str, data: bytes = b"a,b\n1,2\n") -> str:
    """Upload (or overwrite) a blob; return its new etag."""
    result = await container.get_blob_client(name).upload_blob(data, overwrite=True)
    return result["etag"]
