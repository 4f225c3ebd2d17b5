"""Fixtures for the blob-change tests: WASB connections on the shared Azurite, a restartable Azurite for
outage tests, a fresh container per test, and an in-memory stand-in for the asset state store.

Connections are ``AIRFLOW_CONN_<ID>`` environment variables in JSON form, so the real ``WasbAsyncHook``
resolves them exactly as it would in a triggerer.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob.aio import BlobServiceClient

ROOT = Path(__file__).resolve().parents[3]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONN_ID = "blob_changes_wasb"
EVENT_TIMEOUT = 30.0
STARTUP_TIMEOUT = 60.0


def connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_str: str, **extra: Any) -> None:
    payload = {"conn_type": "wasb", "extra": {"connection_string": conn_str, **extra}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(payload))


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RestartableAzurite:
    """An Azurite on a fixed port and data directory that a test can stop and start again."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def start(self) -> None:
        args = ["--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location", str(self.location)]
        self.proc = subprocess.Popen([str(AZURITE), *args, "--skipApiVersionCheck", "--silent", "--disableTelemetry"])
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Azurite did not listen on port {self.port}")

    def stop(self) -> None:
        """SIGTERM by pid, SIGKILL if it does not stop in time."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)
        self.proc = None


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
def outage_azurite(tmp_path) -> RestartableAzurite:
    if not AZURITE.exists():
        pytest.skip("Azurite is not installed (run `make setup`)")
    server = RestartableAzurite(tmp_path / "azurite")
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
