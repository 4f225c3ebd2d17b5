"""Helpers for the listing change trigger and sensor tests on Azurite: connections, SAS forms, uploads, events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas
from azure.storage.blob import BlobServiceClient as SyncBlobServiceClient

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


async def next_event(events: AsyncIterator[Any], timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
    """The next event payload of a running trigger generator, bounded so a missed change fails fast."""
    event = await asyncio.wait_for(anext(events), timeout)
    return event.payload


async def upload(container: Any, name: str, data: bytes = b"a,b\n1,2\n") -> str:
    """Upload (or overwrite) a blob; return its new etag."""
    result = await container.get_blob_client(name).upload_blob(data, overwrite=True)
    return result["etag"]
