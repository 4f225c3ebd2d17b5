"""WasbBlobChangeTrigger: report blobs added to or modified in a container folder, from the triggerer.

It is a ``BaseEventTrigger``, so it drives an ``AssetWatcher`` (a change updates the asset and starts the
DAGs scheduled on it) and it also serves ``WasbBlobChangeSensor`` in deferrable mode. The change rules
live in :mod:`airflow_batchml.changes`; this module lists the folder through the Azure provider's
``WasbAsyncHook`` and decides what to remember, when, and where.

**Where the state lives: Airflow's asset state store.** A watcher trigger is re-created often (every
time ``run()`` returns, on triggerer restarts and redistribution), so its state must outlive the
instance. Airflow 3.3 gives watcher triggers ``self.asset_state_store``, persisted in the metadata DB,
scoped to the watched asset and dropped when the asset is. That was chosen over a state blob with
ETag-conditional writes because it needs no write permission on the watched storage (a listing SAS or
a read-only identity suffices), costs no extra storage round trip per poll, and keeps Airflow's state in
Airflow where ``airflow assets`` tooling and DB backups already cover it. What the blob option would buy,
a compare-and-swap against two triggerers polling the same folder at once, matters less here: Airflow
runs each trigger on one triggerer, and a brief overlap during redistribution only duplicates a
delivery, which deterministic job names absorb. The state is small (see ``changes``), well under the
store's 64 KB value guideline. The key holds the folder and options, so several watchers of one asset
do not collide. Outside a triggerer (``asset_state_store`` is None, e.g. a deferred sensor) the state
starts from the ``state`` argument and lives in the instance; the sensor keeps it in XCom instead.

**Delivery is at-least-once.** The new state is saved only after the generator is resumed past the
event(s) of a poll, and then only at the start of the next cycle, after ``poll_interval``: by then the
triggerer has handed the event to its supervisor for the metadata DB. A crash or restart before the
save means the next instance starts from the old state and re-emits the same blob versions; it never
skips one. Re-delivery is harmless for scoring because each blob record carries ``job_name``, derived
from container, name and etag (:func:`airflow_batchml.job_names.change_job_name`): submitting it again
attaches to the job of the first delivery.

**Errors.** Transient storage errors (connection refused, timeouts, throttling, 5xx) are logged on
change and retried with exponential backoff from ``retry_delay`` to ``max_retry_delay``; the listing
then catches up, because the state only moves when a poll completes. Permanent errors (missing
connection, unknown container, a prefix that names a blob, denied access) yield one ``error`` event
naming what to fix, then are re-checked every ``max_retry_delay`` without repeating the event, so a
misconfigured watcher neither spins nor floods the asset with events.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_batchml.changes import (
    DEFAULT_SETTLE_SECONDS,
    BlobEntry,
    BlobFolder,
    ChangeSet,
    account_endpoint,
    describe,
    detect_changes,
)
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLError

if TYPE_CHECKING:
    # The storage SDK costs ~0.7 s to import: DAG files that build this trigger (an AssetWatcher) or the
    # sensor must not pay it at parse time, so it is imported where the triggerer or a task uses it.
    from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook

TRANSIENT_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})
MAX_PAGE_SIZE = 5000


class BlobListingTransientError(AzureMLError):
    """Storage did not answer this time (network, throttling, 5xx); the next attempt may succeed."""


class WasbBlobChangeTrigger(BaseEventTrigger):
    """Poll a folder of a blob container and emit the blobs added or modified since the last poll.

    Event payload: ``status`` (``changes`` or ``error``), ``container``, ``prefix``, ``blobs`` (records
    with ``name``, ``etag``, ``size``, ``last_modified``, ``change``, ``uri``, ``type`` and ``job_name``),
    ``deleted`` (names, with ``track_deletions``), ``message``, and ``state`` (with ``emit_state``).

    :param container_name: The container to watch.
    :param prefix: The folder inside it; empty for the container root.
    :param wasb_conn_id: The WASB connection of the storage account.
    :param recursive: Include blobs in sub-folders (Azure ML v1 schedules did not).
    :param glob: Only blobs whose folder-relative name matches, e.g. ``"*.csv"``.
    :param poll_interval: Seconds between listings.
    :param event_per_blob: One event per changed blob instead of one per poll.
    :param include_existing: Report the blobs already there on the very first poll (default: baseline).
    :param track_deletions: Also report deleted names (the state then holds every name).
    :param ignore_same_content: A blob written again with the same bytes (same Content-MD5) is no change
        (the state then holds every blob's MD5).
    :param settle_seconds: Storage clock tolerance kept behind the listing start (see ``changes``).
    :param datastore: Azure ML datastore of this container; records then carry ``azureml://`` URIs.
    :param job_name_prefix: Readable start of the deterministic job names in the records.
    :param state: Starting state when no asset state store is attached (the sensor's saved state).
    :param emit_state: Put the new state in each event (for the sensor, which stores it in XCom).
    :param page_size: Blobs per listing page (at most 5,000).
    :param retry_delay: First backoff after a transient error, in seconds.
    :param max_retry_delay: Longest backoff, and the re-check period of a permanent error.
    """

    def __init__(
        self,
        container_name: str,
        prefix: str = "",
        wasb_conn_id: str = "wasb_default",
        recursive: bool = False,
        glob: str | None = None,
        poll_interval: float = 60.0,
        event_per_blob: bool = False,
        include_existing: bool = False,
        track_deletions: bool = False,
        ignore_same_content: bool = False,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        datastore: str | None = None,
        job_name_prefix: str = "blob-change",
        state: dict[str, Any] | None = None,
        emit_state: bool = False,
        page_size: int = MAX_PAGE_SIZE,
        retry_delay: float = 5.0,
        max_retry_delay: float = 300.0,
    ) -> None:
        super().__init__()
        self.container_name = container_name
        self.prefix = prefix
        self.wasb_conn_id = wasb_conn_id
        self.recursive = recursive
        self.glob = glob
        self.poll_interval = poll_interval
        self.event_per_blob = event_per_blob
        self.include_existing = include_existing
        self.track_deletions = track_deletions
        self.ignore_same_content = ignore_same_content
        self.settle_seconds = settle_seconds
        self.datastore = datastore
        self.job_name_prefix = job_name_prefix
        self.state = state
        self.emit_state = emit_state
        self.page_size = page_size
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.folder = BlobFolder(prefix, recursive, glob)
        self._prefix_checked = False
        check_arguments(container_name, page_size, retry_delay, max_retry_delay)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return f"{type(self).__module__}.{type(self).__qualname__}", {name: getattr(self, name) for name in names}

    @property
    def state_key(self) -> str:
        """Asset-store key: the folder and the options that change what counts, hashed to stay short."""
        options = [self.container_name, self.folder.prefix, self.recursive, self.glob, self.track_deletions]
        if self.ignore_same_content:  # appended only when on: existing watchers keep their key and state
            options.append("ignore_same_content")
        digest = hashlib.sha256(json.dumps(options).encode()).hexdigest()[:16]
        return f"wasb_blob_changes/{self.container_name}/{digest}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook

        hook = WasbAsyncHook(wasb_conn_id=self.wasb_conn_id)
        state, pending = await self._load_state(), None
        failures, reported = 0, None
        try:
            while True:
                if pending is not None:
                    state, pending = pending, None
                    await self._save_state(state)
                try:
                    changes, account_url = await self.poll(hook, state)
                except BlobListingTransientError as err:
                    failures += 1
                    await self._back_off(failures, err)
                    continue
                except AzureMLConfigurationError as err:
                    if str(err) != reported:
                        reported = str(err)
                        self.log.error(
                            "Cannot watch %s, will re-check every %ss: %s", self._where(), self.max_retry_delay, err
                        )
                        yield TriggerEvent(self._error_event(str(err)))
                    await asyncio.sleep(self.max_retry_delay)
                    continue
                if failures or reported:
                    self.log.info("Listing %s works again", self._where())
                failures, reported = 0, None
                for event in self.events(changes, account_url):
                    yield TriggerEvent(event)
                if changes.state_changed:
                    pending = changes.state
                await asyncio.sleep(self.poll_interval)
        finally:
            await close_hook(hook)

    async def poll(self, hook: WasbAsyncHook, state: dict[str, Any] | None) -> tuple[ChangeSet, str | None]:
        """List the folder once and diff it against ``state``; storage errors come back classified.

        Also returns the account's endpoint (no credentials) that record URIs are built on.
        """
        try:
            client = await hook.get_async_conn()
            container = client.get_container_client(self.container_name)
            entries, listed_at = await list_folder(container, self.folder, self.page_size)
            if not entries:
                await self._check_prefix_is_not_a_blob(container)
        except AzureMLError:
            raise
        except AirflowNotFoundException as err:
            raise AzureMLConfigurationError("wasb_conn_id", f"connection {self.wasb_conn_id!r} is not defined") from err
        except Exception as err:
            raise classify_storage_error(err, self.container_name) from err
        changes = detect_changes(
            entries,
            state,
            listed_at=listed_at,
            settle_seconds=self.settle_seconds,
            include_existing=self.include_existing,
            track_deletions=self.track_deletions,
            ignore_same_content=self.ignore_same_content,
        )
        return changes, account_endpoint(client.url)

    def events(self, changes: ChangeSet, account_url: str | None) -> list[dict[str, Any]]:
        records = [
            describe(
                kind,
                entry,
                container=self.container_name,
                account_url=account_url,
                datastore=self.datastore,
                job_prefix=self.job_name_prefix,
            )
            for kind, entry in changes.changed
        ]
        if not records and not changes.deleted:
            return []
        groups = [[record] for record in records] if self.event_per_blob else [records]
        if not groups:
            groups = [[]]
        events = [self._changes_event(group) for group in groups]
        events[-1]["deleted"] = changes.deleted
        if self.emit_state:
            events[-1]["state"] = changes.state
        return events

    def _changes_event(self, blobs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "status": "changes",
            "container": self.container_name,
            "prefix": self.folder.prefix,
            "blobs": blobs,
            "deleted": [],
            "message": f"{len(blobs)} changed blob(s) in {self._where()}",
        }

    def _error_event(self, message: str) -> dict[str, Any]:
        return {
            "status": "error",
            "container": self.container_name,
            "prefix": self.folder.prefix,
            "blobs": [],
            "deleted": [],
            "message": message,
        }

    async def _back_off(self, failures: int, err: Exception) -> None:
        """Exponential backoff; log the first failure and every tenth, not each retry."""
        delay = min(self.max_retry_delay, self.retry_delay * 2 ** min(failures - 1, 16))
        if failures == 1 or failures % 10 == 0:
            self.log.warning(
                "Listing %s failed (%d in a row), retrying in %.1fs: %s", self._where(), failures, delay, err
            )
        await asyncio.sleep(delay)

    async def _check_prefix_is_not_a_blob(self, container: Any) -> None:
        """An empty folder whose name is a blob is a typo for that blob: say so (once per instance)."""
        name = self.folder.prefix.rstrip("/")
        if not name or self._prefix_checked:
            return
        if await container.get_blob_client(name).exists():
            raise AzureMLConfigurationError("prefix", f"{name!r} is a blob in {self.container_name!r}, not a folder")
        self._prefix_checked = True

    async def _load_state(self) -> dict[str, Any] | None:
        accessors = _accessors(self.asset_state_store)
        for accessor in accessors:
            stored = await accessor.aget(self.state_key)
            if stored is not None:
                return stored
        return self.state

    async def _save_state(self, state: dict[str, Any]) -> None:
        self.state = state
        for accessor in _accessors(self.asset_state_store):
            await accessor.aset(self.state_key, state)

    def _where(self) -> str:
        return f"{self.container_name}/{self.folder.prefix}"


def check_arguments(container_name: str, page_size: int, retry_delay: float, max_retry_delay: float) -> None:
    """Bad arguments fail where the trigger is built (DAG parsing, sensor init), not in the triggerer."""
    if not isinstance(container_name, str) or not container_name.strip():
        raise AzureMLConfigurationError("container_name", "a container name is required")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise AzureMLConfigurationError("page_size", f"{page_size!r} is not between 1 and {MAX_PAGE_SIZE}")
    if retry_delay <= 0 or max_retry_delay < retry_delay:
        raise AzureMLConfigurationError("retry_delay", "must be > 0 and not above max_retry_delay")


async def list_folder(container: Any, folder: BlobFolder, page_size: int) -> tuple[list[BlobEntry], datetime]:
    """List the folder's blobs and when the listing started on the storage server's clock.

    Non-recursive folders are listed with the ``/`` delimiter, so sub-folders cost one entry each instead
    of their whole content. The start time is the ``Date`` header of the first page (falling back to the
    local clock taken before the first request).
    """
    started = datetime.now(UTC)
    dates: list[str] = []

    def remember_date(response: Any) -> None:
        if not dates and (date := response.http_response.headers.get("Date")):
            dates.append(date)

    options = {"name_starts_with": folder.prefix or None, "include": ["metadata"], "results_per_page": page_size}
    if folder.recursive:
        items = container.list_blobs(raw_response_hook=remember_date, **options)
    else:
        items = container.walk_blobs(delimiter="/", raw_response_hook=remember_date, **options)
    entries = [entry async for item in items if (entry := _entry(item)) is not None and folder.accepts(entry)]
    return entries, min(started, parsedate_to_datetime(dates[0])) if dates else started


def _entry(item: Any) -> BlobEntry | None:
    """A ``BlobProperties`` as a :class:`BlobEntry`; None for the ``BlobPrefix`` items of a walk."""
    etag = getattr(item, "etag", None)
    if etag is None:
        return None
    metadata = item.metadata or {}
    md5 = getattr(item.content_settings, "content_md5", None) if item.content_settings else None
    return BlobEntry(
        name=item.name,
        etag=etag,
        last_modified=item.last_modified,
        size=item.size or 0,
        creation_time=item.creation_time,
        is_folder=str(metadata.get("hdi_isfolder", "")).lower() == "true",
        content_md5=base64.b64encode(bytes(md5)).decode() if md5 else None,
    )


def classify_storage_error(err: Exception, container_name: str) -> Exception:
    """Map a storage error to a permanent configuration error (names what to fix) or a transient one.

    Permanent: the container does not exist, or storage refuses the request (4xx other than timeout and
    throttling: authentication, permissions, a bad request). Transient: everything else.
    """
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    if isinstance(err, ResourceNotFoundError) and getattr(err, "error_code", None) == "ContainerNotFound":
        return AzureMLConfigurationError("container_name", f"container {container_name!r} does not exist")
    if isinstance(err, HttpResponseError) and err.status_code is not None:
        if err.status_code in TRANSIENT_STATUS_CODES:
            return BlobListingTransientError(f"storage answered {err.status_code}: {err.reason}")
        code = getattr(err, "error_code", None) or err.reason
        return AzureMLConfigurationError(
            "wasb_conn_id", f"storage refused listing {container_name!r} ({err.status_code} {code}); check access"
        )
    # Anything else (network errors included) is retried with backoff: crashing would make the triggerer
    # re-create a watcher within a second, the tight loop this trigger must avoid.
    return BlobListingTransientError(f"{type(err).__name__}: {err}")


async def close_hook(hook: WasbAsyncHook) -> None:
    client = hook._blob_service_client  # the public property would build a sync client when unset
    if client is not None:
        await client.close()


def _accessors(store: Any) -> list[Any]:
    """The per-asset accessors of ``asset_state_store``: one per watched asset, or none outside a triggerer.

    A trigger shared by several ``AssetWatcher`` s (same class and kwargs) is run once for all of them, so
    the state is written to each watched asset and read from the first that has it. Airflow offers only
    single-asset sugar on the accessors object, hence the look at its per-asset mappings.
    """
    if store is None:
        return []
    by_name = getattr(store, "_by_name", None)
    by_uri = getattr(store, "_by_uri", None)
    if by_name is None and by_uri is None:
        return [store]
    return [*(by_name or {}).values(), *(by_uri or {}).values()]
