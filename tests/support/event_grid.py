"""A stand-in for Event Grid's delivery to a Storage queue, and Azurite's queue service, for tests and benchmarks.

Azurite has no Event Grid. :class:`EventGridPublisher` writes, for each blob that landed, the message
Event Grid's Storage-queue handler would write: one event per message in the Event Grid schema (or
CloudEvents 1.0), fields as documented for ``Microsoft.Storage.BlobCreated`` / ``BlobDeleted``
(learn.microsoft.com/azure/event-grid/event-schema-blob-storage), the JSON base64-encoded as the queue
SDKs encode by default. The blob's etag, size and last-modified come from the real blob on Azurite.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

from airflow_batchml_emulator.stack import ACCOUNT_NAME, free_port, stop_process, wait_listening

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
TOPIC = f"{SUBSCRIPTION}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT_NAME}"


def blob_event(
    kind: str,
    container: str,
    name: str,
    *,
    etag: str | None = None,
    size: int | None = None,
    when: str = "2026-01-01T00:00:00.0000000Z",
    url: str = "",
    cloud_events: bool = False,
) -> dict[str, Any]:
    """One ``BlobCreated`` (kind ``created``) or ``BlobDeleted`` event as Event Grid publishes it."""
    data: dict[str, Any] = {
        "api": "PutBlob" if kind == "created" else "DeleteBlob",
        "requestId": str(uuid.uuid4()),
        "contentType": "application/octet-stream",
        "blobType": "BlockBlob",
        "url": url,
        "sequencer": "0" * 32,
        "storageDiagnostics": {"batchId": str(uuid.uuid4())},
    }
    if kind == "created":
        data.update(eTag=(etag or "0x0").strip('"'), contentLength=size)
    event_type = "Microsoft.Storage.BlobCreated" if kind == "created" else "Microsoft.Storage.BlobDeleted"
    subject = f"/blobServices/default/containers/{container}/blobs/{name}"
    if cloud_events:
        return {
            "specversion": "1.0",
            "type": event_type,
            "source": TOPIC,
            "id": str(uuid.uuid4()),
            "time": when,
            "subject": subject,
            "data": data,
        }
    return {
        "topic": TOPIC,
        "subject": subject,
        "eventType": event_type,
        "id": str(uuid.uuid4()),
        "data": data,
        "dataVersion": "",
        "metadataVersion": "1",
        "eventTime": when,
    }


def encode(event: Any) -> str:
    return base64.b64encode(json.dumps(event).encode()).decode()


class EventGridPublisher:
    """Publish blob events for real blobs into a queue (an azure-storage-queue async ``QueueClient``)."""

    def __init__(self, queue: Any, cloud_events: bool = False) -> None:
        self.queue = queue
        self.cloud_events = cloud_events

    async def created(self, blob: Any) -> dict[str, Any]:
        """Publish ``BlobCreated`` for a blob client (async ``BlobClient``) that was just written."""
        props = await blob.get_blob_properties()
        when = props.last_modified.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        event = blob_event(
            "created",
            blob.container_name,
            blob.blob_name,
            etag=props.etag,
            size=props.size,
            when=when,
            url=blob.url,
            cloud_events=self.cloud_events,
        )
        await self.queue.send_message(encode(event))
        return event

    async def deleted(self, container: str, name: str) -> dict[str, Any]:
        event = blob_event("deleted", container, name, cloud_events=self.cloud_events)
        await self.queue.send_message(encode(event))
        return event


class AzuriteQueueProcess:
    """``azurite-queue`` on a free loopback port; ``connection_string(blob_endpoint)`` joins it to a blob service."""

    def __init__(self, location: Path, port: int | None = None) -> None:
        self.location = location
        self.port = port or free_port()
        self.proc = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    def connection_string(self, blob_connection_string: str) -> str:
        return f"{blob_connection_string.rstrip(';')};QueueEndpoint={self.endpoint};"

    def start(self) -> None:
        import subprocess

        self.location.mkdir(parents=True, exist_ok=True)
        binary = ROOT / "node_modules" / ".bin" / "azurite-queue"
        args = ["--queueHost", "127.0.0.1", "--queuePort", str(self.port), "--location", str(self.location)]
        args += ["--skipApiVersionCheck", "--silent", "--disableTelemetry"]
        log = (self.location / "azurite-queue.log").open("a")
        self.proc = subprocess.Popen([str(binary), *args], stdout=log, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc, "Azurite queue service")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
