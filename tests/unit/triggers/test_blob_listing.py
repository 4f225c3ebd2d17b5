"""The storage half of the blob-change trigger without storage: naming the folder, listed items as entries,
storage errors told apart, hooks closed.

Listing itself (``list_folder``: the delimiter walk, pages, the server's ``Date``) is left to Azurite in
tests/integration/blob_changes/test_trigger.py and tests/integration/blob_changes/test_datastore.py.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.storage.blob import BlobProperties, ContentSettings
from azure.storage.blob.aio._list_blobs_helper import BlobPrefix

from airflow_batchml.changes import BlobEntry
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.datastores import DatastoreBlobHook
from airflow_batchml.triggers.blob_listing import (
    TRANSIENT_STATUS_CODES,
    BlobListingTransientError,
    _entry,
    check_source,
    classify_storage_error,
    close_hook,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)


def test_a_container_with_prefix_and_wasb_connection_is_one_way_to_name_the_folder():
    assert check_source("landing", "in/", "wasb_default", None, None, None) is None


@pytest.mark.parametrize("path", [None, "landing/"])
def test_a_datastore_with_or_without_a_path_is_the_other(path):
    assert check_source(None, "", None, "workspaceblobstore", path, "azure_ml_default") is None


def test_a_blank_container_name_is_refused():
    with pytest.raises(AzureMLConfigurationError, match="container_name: a container name is required"):
        check_source("   ", "", "wasb_default", None, None, None)


def test_an_argument_of_the_datastore_form_next_to_a_container_says_what_it_goes_with():
    with pytest.raises(AzureMLConfigurationError, match="^path: goes with datastore= in place of container_name"):
        check_source("landing", "", "wasb_default", None, "landing/", None)


def test_neither_form_names_both():
    with pytest.raises(AzureMLConfigurationError) as err:
        check_source(None, "", None, None, None, None)
    assert err.value.field == "container_name"
    assert "container_name (with prefix, wasb_conn_id) or datastore (with path, azure_ml_conn_id)" in str(err.value)


def blob(name: str, *, size: int | None = 3, metadata=None, md5: bytes | None = None) -> BlobProperties:
    """A ``BlobProperties`` as the storage SDK yields it from a listing."""
    item = BlobProperties()
    item.name, item.etag, item.last_modified, item.creation_time = name, '"0x8D1"', T1, T0
    item.size, item.metadata = size, metadata
    item.content_settings = ContentSettings(content_md5=bytearray(md5) if md5 else None)
    return item


def test_a_listed_blob_becomes_an_entry_with_its_md5_in_base64():
    md5 = bytes(range(16))
    assert _entry(blob("in/a.csv", md5=md5)) == BlobEntry(
        name="in/a.csv",
        etag='"0x8D1"',
        last_modified=T1,
        size=3,
        creation_time=T0,
        is_folder=False,
        content_md5=base64.b64encode(md5).decode(),
    )


def test_a_blob_without_md5_size_or_metadata_has_none_zero_and_is_no_folder():
    entry = _entry(blob("in/a.csv", size=None, metadata=None))
    assert (entry.size, entry.content_md5, entry.is_folder) == (0, None, False)


@pytest.mark.parametrize(("marker", "is_folder"), [("true", True), ("True", True), ("false", False)])
def test_the_hdi_isfolder_marker_makes_a_folder_entry(marker, is_folder):
    assert _entry(blob("in/sub", size=0, metadata={"hdi_isfolder": marker})).is_folder is is_folder


def test_a_walks_sub_folder_prefix_is_no_entry():
    assert _entry(BlobPrefix(None, prefix="in/sub/", name="in/sub/")) is None


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ServiceRequestError("connection refused"), BlobListingTransientError),
        (OSError("reset"), BlobListingTransientError),
        (TimeoutError(), BlobListingTransientError),
    ],
)
def test_network_errors_are_transient(error, kind):
    assert isinstance(classify_storage_error(error, "landing"), kind)


@pytest.mark.parametrize(("status", "transient"), [(503, True), (429, True), (500, True), (403, False), (400, False)])
def test_http_errors_by_status(status, transient):
    error = HttpResponseError(message="x")
    error.status_code, error.reason = status, "reason"
    result = classify_storage_error(error, "landing")
    assert isinstance(result, BlobListingTransientError) is transient
    if not transient:
        assert isinstance(result, AzureMLConfigurationError) and "landing" in str(result)


@pytest.mark.parametrize("status", sorted(TRANSIENT_STATUS_CODES))
def test_every_transient_status_says_what_storage_answered(status):
    error = HttpResponseError(message="x")
    error.status_code, error.reason = status, "Busy"
    result = classify_storage_error(error, "landing")
    assert isinstance(result, BlobListingTransientError)
    assert str(result) == f"storage answered {status}: Busy"


def test_a_refusal_names_the_access_field_status_and_error_code():
    error = HttpResponseError(message="x")
    error.status_code, error.reason, error.error_code = 403, "Forbidden", "AuthorizationFailure"
    result = classify_storage_error(error, "landing")
    assert result.field == "wasb_conn_id"
    assert str(result) == "wasb_conn_id: storage refused listing 'landing' (403 AuthorizationFailure); check access"


def test_an_error_without_a_status_is_transient_and_named_by_its_type():
    result = classify_storage_error(HttpResponseError(message="no response"), "landing")
    assert isinstance(result, BlobListingTransientError)
    assert str(result).startswith("HttpResponseError: ")


def test_unknown_container_names_the_field():
    error = ResourceNotFoundError(message="nope")
    error.error_code, error.status_code = "ContainerNotFound", 404
    result = classify_storage_error(error, "landing")
    assert isinstance(result, AzureMLConfigurationError) and result.field == "container_name"


def test_datastore_form_storage_errors_name_the_datastore():
    error = ResourceNotFoundError(message="nope")
    error.error_code, error.status_code = "ContainerNotFound", 404
    result = classify_storage_error(error, "azureml-blobstore", "datastore", "datastore")
    assert isinstance(result, AzureMLConfigurationError) and result.field == "datastore"


class RecordingClient:
    """Stands in for an async blob service client: records that it was closed."""

    def __init__(self) -> None:
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


async def test_closing_a_wasb_hook_closes_the_client_it_opened():
    hook = WasbAsyncHook(wasb_conn_id="nowhere")
    hook._blob_service_client = client = RecordingClient()
    await close_hook(hook)
    assert client.closed == 1


async def test_closing_a_wasb_hook_that_opened_nothing_builds_no_client():
    hook = WasbAsyncHook(wasb_conn_id="nowhere")
    await close_hook(hook)
    assert hook._blob_service_client is None


async def test_closing_a_datastore_hook_drops_its_client_and_resolution():
    hook = DatastoreBlobHook("azure_ml_default", "workspaceblobstore")
    hook._client = client = RecordingClient()
    await close_hook(hook)
    assert client.closed == 1
    assert hook._client is None
