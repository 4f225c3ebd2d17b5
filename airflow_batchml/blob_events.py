"""Pure parsing and filtering of Event Grid blob events read from a Storage queue: no I/O here.

One queue message (Event Grid or CloudEvents schema, base64 or plain JSON) becomes ``BlobEvent`` s, filtered
as Data Factory's storage event trigger filters, and then the same records as the listing trigger, so the
consuming DAGs do not change. Anything unreadable is a poison message. Why: ``docs/change-detection.md``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_batchml.changes import BlobEntry, describe
from airflow_batchml.exceptions import AzureMLConfigurationError

CREATED, DELETED = "created", "deleted"
EVENT_TYPES = {"Microsoft.Storage.BlobCreated": CREATED, "Microsoft.Storage.BlobDeleted": DELETED}
_SUBJECT_START = "/blobServices/default/containers/"


class PoisonMessageError(ValueError):
    """A queue message that is not an Event Grid blob event this module can read."""


@dataclass(frozen=True)
class BlobEvent:
    """One blob event, as much as a watcher needs (no SDK type)."""

    kind: str  # CREATED or DELETED
    container: str
    name: str
    etag: str | None
    size: int | None
    time: datetime
    event_id: str


@dataclass(frozen=True)
class BlobEventFilter:
    """Which events a watcher wants, as Data Factory's storage event trigger filters them.

    :param container: The container the events must come from.
    :param begins_with: Blob names must start with this (a folder is written ``"in/"``); empty for all.
    :param ends_with: Blob names must end with this, e.g. ``".csv"``; empty for all.
    :param kinds: ``"created"`` and/or ``"deleted"``.
    :param ignore_empty: Skip created blobs of zero bytes (and folder markers, names ending in ``/``).
    """

    container: str
    begins_with: str = ""
    ends_with: str = ""
    kinds: tuple[str, ...] = (CREATED,)
    ignore_empty: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.container, str) or not self.container.strip() or "/" in self.container:
            raise AzureMLConfigurationError("container_name", f"{self.container!r} is not a container name")
        for field, value in (("blob_path_begins_with", self.begins_with), ("blob_path_ends_with", self.ends_with)):
            if not isinstance(value, str) or value.startswith("/"):
                raise AzureMLConfigurationError(
                    field, f"{value!r} must be a path inside the container without a leading '/', e.g. 'in/'"
                )
        kinds = tuple(self.kinds)
        if not kinds or any(kind not in (CREATED, DELETED) for kind in kinds):
            raise AzureMLConfigurationError("events", f"{list(kinds)!r}: use 'created' and/or 'deleted'")
        object.__setattr__(self, "kinds", tuple(sorted(set(kinds))))

    def accepts(self, event: BlobEvent) -> bool:
        if event.kind not in self.kinds or event.container != self.container:
            return False
        if not event.name.startswith(self.begins_with) or not event.name.endswith(self.ends_with):
            return False
        empty = event.name.endswith("/") or (event.kind == CREATED and not event.size)
        return not (self.ignore_empty and empty)


def parse_message(content: str | bytes) -> list[BlobEvent]:
    """The blob events of one queue message; :class:`PoisonMessageError` when it is unreadable.

    Events of other types (e.g. ``BlobTierChanged``) come back as nothing: they are not poison, just not
    changes.
    """
    document = _decode(content)
    items = document if isinstance(document, list) else [document]
    if not items:
        raise PoisonMessageError("an empty event array")
    events = []
    for item in items:
        if not isinstance(item, dict):
            raise PoisonMessageError(f"not an event object: {type(item).__name__}")
        event = _event(item)
        if event is not None:
            events.append(event)
    return events


def record(event: BlobEvent, *, account_url: str | None, datastore: str | None, job_prefix: str) -> dict[str, Any]:
    """The listing trigger's record of a created blob (same URI forms and deterministic job name)."""
    entry = BlobEntry(name=event.name, etag=event.etag or "", last_modified=event.time, size=event.size or 0)
    return describe(
        "added", entry, container=event.container, account_url=account_url, datastore=datastore, job_prefix=job_prefix
    )


def _decode(content: str | bytes) -> Any:
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        try:
            stripped = base64.b64decode(stripped, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError, ValueError) as err:
            raise PoisonMessageError("neither JSON nor base64-encoded JSON") from err
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as err:
        raise PoisonMessageError(f"invalid JSON: {err}") from err


def _event(item: dict[str, Any]) -> BlobEvent | None:
    """One event in either schema; None for an event type that is not a blob change."""
    cloud = "specversion" in item
    kind = EVENT_TYPES.get(item.get("type") if cloud else item.get("eventType"))
    if kind is None:
        return None
    subject, when, data = item.get("subject"), item.get("time" if cloud else "eventTime"), item.get("data")
    if not isinstance(subject, str) or not subject.startswith(_SUBJECT_START) or "/blobs/" not in subject:
        raise PoisonMessageError(f"subject {subject!r} does not name a blob")
    container, _, name = subject[len(_SUBJECT_START) :].partition("/blobs/")
    if not container or not name or not isinstance(data, dict):
        raise PoisonMessageError(f"subject {subject!r} or its data is incomplete")
    size = data.get("contentLength")
    etag = data.get("eTag")
    if kind == CREATED and (not isinstance(etag, str) or not isinstance(size, int)):
        raise PoisonMessageError(f"a BlobCreated event for {subject!r} without eTag and contentLength")
    return BlobEvent(
        kind=kind,
        container=container,
        name=name,
        etag=_quoted(etag) if isinstance(etag, str) else None,
        size=size if isinstance(size, int) else None,
        time=_time(when, subject),
        event_id=str(item.get("id", "")),
    )


def _quoted(etag: str) -> str:
    """Event Grid sends ``0x8D...``; the storage SDK reports ``"0x8D..."``: use the SDK's form."""
    return etag if etag.startswith('"') else f'"{etag}"'


def _time(text: Any, subject: str) -> datetime:
    if not isinstance(text, str):
        raise PoisonMessageError(f"the event for {subject!r} has no time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise PoisonMessageError(f"the event for {subject!r} has a bad time {text!r}") from err
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
