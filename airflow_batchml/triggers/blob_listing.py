"""The storage half of the blob-change trigger: where the folder is, listing it, telling errors apart.

The same code serves both ways of naming the folder (a container through a WASB connection, or an Azure ML
datastore through the workspace), so both list, page and classify errors alike and report the same records.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from airflow_batchml.changes import BlobEntry, BlobFolder
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLError
from airflow_batchml.hooks.datastores import DatastoreBlobHook, check_datastore_name

TRANSIENT_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})
MAX_PAGE_SIZE = 5000


class BlobListingTransientError(AzureMLError):
    """Storage did not answer this time (network, throttling, 5xx); the next attempt may succeed."""


def check_source(
    container_name: Any, prefix: Any, wasb_conn_id: Any, datastore: Any, path: Any, azure_ml_conn_id: Any
) -> None:
    """Exactly one way to name the folder: a container (with prefix and wasb_conn_id) or a datastore (with
    path and azure_ml_conn_id); a stray argument of the other form is named, not ignored."""
    if container_name is not None:
        if not isinstance(container_name, str) or not container_name.strip():
            raise AzureMLConfigurationError("container_name", "a container name is required")
        for field, value in (("path", path), ("azure_ml_conn_id", azure_ml_conn_id)):
            if value is not None:
                raise AzureMLConfigurationError(
                    field, "goes with datastore= in place of container_name (use prefix and wasb_conn_id)"
                )
        return
    if datastore is None:
        raise AzureMLConfigurationError(
            "container_name",
            "name the folder by container_name (with prefix, wasb_conn_id) or datastore (with path, azure_ml_conn_id)",
        )
    check_datastore_name(datastore)
    if prefix:
        raise AzureMLConfigurationError("prefix", "goes with container_name; a datastore's folder is path=")
    if wasb_conn_id is not None:
        raise AzureMLConfigurationError(
            "wasb_conn_id", "goes with container_name; a datastore is read with its own credential via azure_ml_conn_id"
        )
    if path is not None and not isinstance(path, str):
        raise AzureMLConfigurationError("path", f"{path!r} is not a folder of the datastore, e.g. 'landing/'")


async def close_hook(hook: Any) -> None:
    """Close what a hook from :meth:`WasbBlobChangeTrigger.make_hook` (or a ``WasbAsyncHook``) opened."""
    if isinstance(hook, DatastoreBlobHook):
        await hook.close()
        return
    client = hook._blob_service_client  # the public property would build a sync client when unset
    if client is not None:
        await client.close()


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


def classify_storage_error(
    err: Exception, container_name: str, container_field: str = "container_name", access_field: str = "wasb_conn_id"
) -> Exception:
    """Map a storage error to a permanent configuration error (names what to fix) or a transient one.

    Permanent: the container does not exist, or storage refuses the request (4xx other than timeout and
    throttling: authentication, permissions, a bad request). Transient: everything else. The fields named
    are the arguments that chose the container and the credential (``datastore`` for both in that form).
    """
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    if isinstance(err, ResourceNotFoundError) and getattr(err, "error_code", None) == "ContainerNotFound":
        return AzureMLConfigurationError(container_field, f"container {container_name!r} does not exist")
    if isinstance(err, HttpResponseError) and err.status_code is not None:
        if err.status_code in TRANSIENT_STATUS_CODES:
            return BlobListingTransientError(f"storage answered {err.status_code}: {err.reason}")
        code = getattr(err, "error_code", None) or err.reason
        return AzureMLConfigurationError(
            access_field, f"storage refused listing {container_name!r} ({err.status_code} {code}); check access"
        )
    # Anything else (network errors included) is retried with backoff: crashing would make the triggerer
    # re-create a watcher within a second, the tight loop this trigger must avoid.
    return BlobListingTransientError(f"{type(err).__name__}: {err}")
