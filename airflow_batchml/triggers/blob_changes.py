"""WasbBlobChangeTrigger: report blobs added to or modified in a container folder, from the triggerer.

A ``BaseEventTrigger`` for ``AssetWatcher``, also used by ``WasbBlobChangeSensor`` when deferred. The folder
is a container plus prefix (WASB connection) or a datastore plus path (``azure_ml`` connection). The rules
live in ``airflow_batchml.changes``; this module lists, and keeps the state in the asset state store, saved
one poll after the events were handed over (at-least-once). Transient errors back off; permanent ones yield
one ``error`` event and are re-checked slowly. Why: ``docs/change-detection.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import AsyncIterator
from typing import Any, NoReturn

from airflow.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_batchml.changes import (
    DEFAULT_SETTLE_SECONDS,
    BlobFolder,
    ChangeSet,
    account_endpoint,
    describe,
    detect_changes,
)
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLError
from airflow_batchml.hooks.azure_ml_async import AzureMLTransientError
from airflow_batchml.hooks.datastores import DatastoreBlobHook
from airflow_batchml.triggers.blob_listing import (
    MAX_PAGE_SIZE,
    BlobListingTransientError,
    check_source,
    classify_storage_error,
    close_hook,
    list_folder,
)
from airflow_batchml.triggers.retries import ErrorPacing

__all__ = ["BlobListingTransientError", "WasbBlobChangeTrigger", "classify_storage_error", "close_hook"]


class WasbBlobChangeTrigger(BaseEventTrigger):
    """Poll a folder of a blob container and emit the blobs added or modified since the last poll.

    Name the folder by ``container_name`` (+ ``prefix``, ``wasb_conn_id``) or by ``datastore`` (+ ``path``,
    ``azure_ml_conn_id``), not both.

    Event payload: ``status`` (``changes`` or ``error``), ``container``, ``prefix``, ``blobs`` (records
    with ``name``, ``etag``, ``size``, ``last_modified``, ``change``, ``uri``, ``type`` and ``job_name``),
    ``deleted`` (names, with ``track_deletions``), ``message``, and ``state`` (with ``emit_state``).

    :param container_name: The container to watch.
    :param prefix: The folder inside it; empty for the container root.
    :param wasb_conn_id: The WASB connection of the storage account (default ``wasb_default``).
    :param recursive: Include blobs in sub-folders (Azure ML v1 schedules did not).
    :param glob: Only blobs whose folder-relative name matches, e.g. ``"*.csv"``.
    :param poll_interval: Seconds between listings.
    :param event_per_blob: One event per changed blob instead of one per poll.
    :param include_existing: Report the blobs already there on the very first poll (default: baseline).
    :param track_deletions: Also report deleted names (the state then holds every name).
    :param ignore_same_content: A blob written again with the same bytes (same Content-MD5) is no change
        (the state then holds every blob's MD5).
    :param settle_seconds: Storage clock tolerance kept behind the listing start (see ``changes``).
    :param datastore: Without ``container_name``: the Azure ML datastore to watch, resolved through the
        workspace. With it: the datastore of that container, so records carry ``azureml://`` URIs.
    :param path: The folder inside the datastore (datastore form); empty for its root.
    :param azure_ml_conn_id: The ``azure_ml`` connection whose workspace holds the datastore (datastore
        form; default ``azure_ml_default``).
    :param job_name_prefix: Readable start of the deterministic job names in the records.
    :param state: Starting state when no asset state store is attached (the sensor's saved state).
    :param emit_state: Put the new state in each event (for the sensor, which stores it in XCom).
    :param page_size: Blobs per listing page (at most 5,000).
    :param retry_delay: First backoff after a transient error, in seconds.
    :param max_retry_delay: Longest backoff, and the re-check period of a permanent error.
    """

    def __init__(
        self,
        container_name: str | None = None,
        prefix: str = "",
        wasb_conn_id: str | None = None,
        recursive: bool = False,
        glob: str | None = None,
        poll_interval: float = 60.0,
        event_per_blob: bool = False,
        include_existing: bool = False,
        track_deletions: bool = False,
        ignore_same_content: bool = False,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        datastore: str | None = None,
        path: str | None = None,
        azure_ml_conn_id: str | None = None,
        job_name_prefix: str = "blob-change",
        state: dict[str, Any] | None = None,
        emit_state: bool = False,
        page_size: int = MAX_PAGE_SIZE,
        retry_delay: float = 5.0,
        max_retry_delay: float = 300.0,
    ) -> None:
        super().__init__()
        check_source(container_name, prefix, wasb_conn_id, datastore, path, azure_ml_conn_id)
        check_arguments(page_size, retry_delay, max_retry_delay)
        on_datastore = container_name is None
        self.container_name = container_name
        self.prefix = prefix
        self.wasb_conn_id = None if on_datastore else (wasb_conn_id or "wasb_default")
        self.recursive = recursive
        self.glob = glob
        self.poll_interval = poll_interval
        self.event_per_blob = event_per_blob
        self.include_existing = include_existing
        self.track_deletions = track_deletions
        self.ignore_same_content = ignore_same_content
        self.settle_seconds = settle_seconds
        self.datastore = datastore
        self.path = (path or "") if on_datastore else None
        self.azure_ml_conn_id = (azure_ml_conn_id or "azure_ml_default") if on_datastore else None
        self.job_name_prefix = job_name_prefix
        self.state = state
        self.emit_state = emit_state
        self.page_size = page_size
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.folder = BlobFolder(self.path if on_datastore else prefix, recursive, glob)
        self._resolved_container: str | None = None
        self._prefix_checked = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return f"{type(self).__module__}.{type(self).__qualname__}", {name: getattr(self, name) for name in names}

    @property
    def on_datastore(self) -> bool:
        """Whether the folder is named by a datastore (resolved through the workspace) rather than a container."""
        return self.container_name is None

    @property
    def container(self) -> str | None:
        """The container listed: ``container_name``, or the datastore's once resolved."""
        return self.container_name or self._resolved_container

    @property
    def state_key(self) -> str:
        """Asset-store key: the container, folder and options that change what counts, hashed to stay short.

        The same for both forms on the same container and folder. Needs the container (for the datastore
        form: resolved).
        """
        if self.container is None:
            raise RuntimeError("the datastore is not resolved yet")
        options = [self.container, self.folder.prefix, self.recursive, self.glob, self.track_deletions]
        if self.ignore_same_content:  # appended only when on: existing watchers keep their key and state
            options.append("ignore_same_content")
        digest = hashlib.sha256(json.dumps(options).encode()).hexdigest()[:16]
        return f"wasb_blob_changes/{self.container}/{digest}"

    def make_hook(self) -> Any:
        """The hook that lists the folder: the WASB async hook, or the datastore's (close with ``close_hook``)."""
        if self.on_datastore:
            return DatastoreBlobHook(str(self.azure_ml_conn_id), str(self.datastore))
        from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook

        return WasbAsyncHook(wasb_conn_id=self.wasb_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.make_hook()
        key, state, pending = None, None, None
        errors = ErrorPacing(self.log, "Listing", self._where, self.retry_delay, self.max_retry_delay)
        try:
            while True:
                if pending is not None:
                    await self._save_state(*pending)
                    pending = None
                try:
                    if self.on_datastore:  # its container (so its state key) is known once resolved
                        await self.connect(hook)
                    if key != self.state_key:  # the first poll, or the datastore moved to another container
                        key, state = self.state_key, await self._load_state(self.state_key)
                    changes, account_url = await self.poll(hook, state)
                except BlobListingTransientError as err:
                    await errors.transient(err)
                    continue
                except AzureMLConfigurationError as err:
                    if errors.permanent(err):
                        yield TriggerEvent(self._error_event(str(err)))
                    await errors.recheck()
                    continue
                errors.succeeded()
                for event in self.events(changes, account_url):
                    yield TriggerEvent(event)
                if changes.state_changed:
                    state, pending = changes.state, (key, changes.state)
                await asyncio.sleep(self.poll_interval)
        finally:
            await close_hook(hook)

    async def connect(self, hook: Any) -> Any:
        """The storage client (for the datastore form, resolving the datastore when due); errors classified."""
        try:
            client = await hook.get_async_conn()
        except Exception as err:
            await self._raise_failure(hook, err)
        if self.on_datastore:
            self._resolved_container = hook.container_name
        return client

    async def poll(self, hook: Any, state: dict[str, Any] | None) -> tuple[ChangeSet, str | None]:
        """List the folder once and diff it against ``state``; storage errors come back classified.

        ``hook`` comes from :meth:`make_hook`. Also returns the account's endpoint (no credentials) that
        record URIs are built on.
        """
        client = await self.connect(hook)
        try:
            container = client.get_container_client(self.container)
            entries, listed_at = await list_folder(container, self.folder, self.page_size)
            if not entries:
                await self._check_prefix_is_not_a_blob(container)
        except Exception as err:
            await self._raise_failure(hook, err)
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

    async def _raise_failure(self, hook: Any, err: Exception) -> NoReturn:
        """Raise what a failed connect or listing means: permanent (naming the argument) or transient."""
        if self.on_datastore:
            await hook.reset()  # the next attempt asks the workspace again: a fixed datastore, a renewed SAS
        if isinstance(err, AzureMLTransientError):
            raise BlobListingTransientError(str(err)) from err
        if isinstance(err, AzureMLError):
            raise err
        if isinstance(err, AirflowNotFoundException):
            field = "azure_ml_conn_id" if self.on_datastore else "wasb_conn_id"
            raise AzureMLConfigurationError(field, f"connection {getattr(self, field)!r} is not defined") from err
        fields = ("datastore", "datastore") if self.on_datastore else ()
        raise classify_storage_error(err, str(self.container), *fields) from err

    def events(self, changes: ChangeSet, account_url: str | None) -> list[dict[str, Any]]:
        records = [
            describe(
                kind,
                entry,
                container=str(self.container),
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
            "container": self.container,
            "prefix": self.folder.prefix,
            "blobs": blobs,
            "deleted": [],
            "message": f"{len(blobs)} changed blob(s) in {self._where()}",
        }

    def _error_event(self, message: str) -> dict[str, Any]:
        return {
            "status": "error",
            "container": self.container,
            "prefix": self.folder.prefix,
            "blobs": [],
            "deleted": [],
            "message": message,
        }

    async def _check_prefix_is_not_a_blob(self, container: Any) -> None:
        """An empty folder whose name is a blob is a typo for that blob: say so (once per instance)."""
        name = self.folder.prefix.rstrip("/")
        if not name or self._prefix_checked:
            return
        if await container.get_blob_client(name).exists():
            field = "path" if self.on_datastore else "prefix"
            raise AzureMLConfigurationError(field, f"{name!r} is a blob in {self.container!r}, not a folder")
        self._prefix_checked = True

    async def _load_state(self, key: str) -> dict[str, Any] | None:
        for accessor in _accessors(self.asset_state_store):
            stored = await accessor.aget(key)
            if stored is not None:
                return stored
        return self.state

    async def _save_state(self, key: str, state: dict[str, Any]) -> None:
        self.state = state
        for accessor in _accessors(self.asset_state_store):
            await accessor.aset(key, state)

    def _where(self) -> str:
        if self.container is None:
            return f"datastore {self.datastore} path {self.folder.prefix}"
        return f"{self.container}/{self.folder.prefix}"


def check_arguments(page_size: int, retry_delay: float, max_retry_delay: float) -> None:
    """Bad arguments fail where the trigger is built (DAG parsing, sensor init), not in the triggerer."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise AzureMLConfigurationError("page_size", f"{page_size!r} is not between 1 and {MAX_PAGE_SIZE}")
    if retry_delay <= 0 or max_retry_delay < retry_delay:
        raise AzureMLConfigurationError("retry_delay", "must be > 0 and not above max_retry_delay")


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
