"""OpenLineage names for what a batch job reads and writes, and the Airflow Asset of an output folder.

Names follow the OpenLineage naming spec (``wasbs://`` / ``abfss://{container}@{account}.dfs.<suffix>``),
with datastore and data-asset URIs resolved through the workspace. Each URI form and its name:
``docs/inputs-and-lineage.md``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_batchml.batch_job import (
    ARM_DATASTORE_PATH,
    DATA_ASSET_ID,
    DATASTORE_URI,
    LOCATION_DATA_ASSET_ID,
    check_output_path,
)
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLError
from airflow_batchml.redaction import redact

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from airflow_batchml.hooks.azure_ml import AzureMLHook

log = logging.getLogger(__name__)

#: OpenLineage's scheme for the datastore types that hold blobs.
LINEAGE_SCHEME = {"AzureBlob": "wasbs", "AzureDataLakeGen2": "abfss"}
_SERVICE_HOST = re.compile(r"(?P<account>[a-z0-9]{3,24})\.(?P<service>blob|dfs)\.(?P<suffix>.+)", re.I)
_SHORT_DATA_ASSET = re.compile(r"azureml:(?P<name>[A-Za-z0-9_.-]+)(?::(?P<version>[A-Za-z0-9_.-]+)|@latest)")


@dataclass(frozen=True)
class LineageDataset:
    """An OpenLineage dataset identity: ``namespace`` (the data source) and ``name`` (the path in it)."""

    namespace: str
    name: str


def blob_dataset(scheme: str, account: str, container: str, path: str, suffix: str) -> LineageDataset:
    """A blob or folder of an Azure storage container, named as the OpenLineage spec names it."""
    name = unquote(path).strip("/") or "/"
    return LineageDataset(f"{scheme}://{container}@{account}.dfs.{suffix}", name)


def url_dataset(url: str, storage_endpoint: str | None = None) -> LineageDataset:
    """A dataset named by an http(s) URL: a blob service's own host, a path-style emulator, or any host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if match := _SERVICE_HOST.fullmatch(host):
        container, _, path = parts.path.lstrip("/").partition("/")
        scheme = "abfss" if match["service"].lower() == "dfs" else "wasbs"
        return blob_dataset(scheme, match["account"].lower(), container, path, match["suffix"].lower())
    segments = parts.path.lstrip("/").split("/", 2)
    if _is_local_host(host) and len(segments) >= 2 and segments[1]:
        account, container, path = (*segments, "")[:3]
        return blob_dataset("wasbs", account, container, path, storage_endpoint or parts.netloc)
    return LineageDataset(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}", unquote(parts.path) or "/")


def _is_local_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class DatastoreStorage:
    """The storage behind a datastore, as OpenLineage names it: scheme, account, container, host suffix."""

    scheme: str
    account: str
    container: str
    suffix: str

    def dataset(self, path: str) -> LineageDataset:
        return blob_dataset(self.scheme, self.account, self.container, path, self.suffix)


def datastore_storage(name: str, body: dict[str, Any], storage_endpoint: str | None) -> DatastoreStorage:
    """Read a datastore GET body as the change watchers do (``hooks/datastores.py``): account, container,
    and the suffix of ``https://<account>.blob.<suffix>``; refuses datastores that hold no blobs."""
    from airflow_batchml.hooks.datastores import datastore_location

    location = datastore_location(name, body, storage_endpoint)
    suffix = location.account_url.removeprefix(f"https://{location.account_name}.blob.")
    scheme = LINEAGE_SCHEME[body["properties"]["datastoreType"]]
    return DatastoreStorage(scheme, location.account_name, location.container_name, suffix)


def datastore_path(uri: str) -> tuple[str, str] | None:
    """``(datastore, path)`` of a datastore URI in any of its forms, else None."""
    match = DATASTORE_URI.fullmatch(uri) or ARM_DATASTORE_PATH.fullmatch(uri)
    return (match["store"], match["path"]) if match else None


def data_asset(uri: str) -> tuple[str, str | None] | None:
    """``(name, version)`` of a data asset reference (version None: the latest), else None."""
    if match := _SHORT_DATA_ASSET.fullmatch(uri):
        return match["name"], match["version"]
    if match := LOCATION_DATA_ASSET_ID.fullmatch(uri):
        return match["name"], match["version"]
    if DATA_ASSET_ID.fullmatch(uri):
        *_, name, _versions, version = uri.rstrip("/").split("/")
        return name, version
    return None


class LineageResolver:
    """Names datasets for one workspace, asking it once per datastore or data asset.

    A URI that cannot be resolved (a datastore the workspace does not have, an ADLS Gen1 or file share
    datastore) is left out with a warning: lineage is reported on a best-effort basis and never fails a task.
    """

    def __init__(self, hook: AzureMLHook) -> None:
        self.hook = hook
        self._datastores: dict[str, DatastoreStorage] = {}

    def datasets(self, uris: Iterable[str]) -> list[LineageDataset]:
        named: list[LineageDataset] = []
        for uri in uris:
            try:
                dataset = self.dataset(uri)
            except AzureMLError as err:
                log.warning("No lineage dataset for %s: %s", redact(uri), err)
                continue
            if dataset not in named:
                named.append(dataset)
        return named

    def dataset(self, uri: str) -> LineageDataset:
        if asset := data_asset(uri):
            self._check_own_workspace(uri)
            uri = self._data_asset_path(*asset)
        if located := datastore_path(uri):
            store, path = located
            return self._datastore(store).dataset(path)
        scheme = urlsplit(uri).scheme.lower()
        if scheme in ("http", "https"):
            return url_dataset(uri, self.hook.settings.storage_endpoint)
        return LineageDataset("file", os.path.abspath(uri.removeprefix("file://")))

    def _datastore(self, name: str) -> DatastoreStorage:
        """Where a datastore's blobs are, from the workspace's datastore GET (no secret is asked for)."""
        if name not in self._datastores:
            from airflow_batchml.hooks.azure_ml_async import DATASTORE_API_VERSION
            from airflow_batchml.hooks.datastores import check_datastore_name
            from airflow_batchml.hooks.pipelines_rest import call, workspace_id

            check_datastore_name(name)
            settings = self.hook.settings
            url = f"{settings.resource_manager}{workspace_id(settings)}/datastores/{name}"
            body = call(
                settings,
                "GET",
                f"{url}?api-version={DATASTORE_API_VERSION}",
                f"Reading datastore {name}",
                check=lambda target: self.hook.check_token_destination(target, "datastore"),
            )
            self._datastores[name] = datastore_storage(name, body, settings.storage_endpoint)
        return self._datastores[name]

    def _check_own_workspace(self, uri: str) -> None:
        """A data asset named by another workspace's ARM id cannot be looked up in this one."""
        match, settings = DATA_ASSET_ID.fullmatch(uri), self.hook.settings
        own = (settings.subscription_id, settings.resource_group, settings.workspace_name)
        if match and tuple(part.lower() for part in match.group("sub", "group", "workspace")) != tuple(
            part.lower() for part in own
        ):
            raise AzureMLConfigurationError("inputs", "names a data asset of another workspace")

    def _data_asset_path(self, name: str, version: str | None) -> str:
        from airflow_batchml.hooks.errors import remote_errors

        with remote_errors(f"Reading data asset {name}"):
            if version is None:
                return self.hook.get_client().data.get(name, label="latest").path
            return self.hook.get_client().data.get(name, version=version).path


def output_asset(output_path: str, name: str | None = None, **kwargs: Any) -> Asset:
    """The Airflow Asset of a batch job's output folder, for ``outlets=`` of the invoking task.

    Its URI is the datastore URI the task writes to (``azureml://datastores/<name>/paths/<path>``), known
    when the DAG is parsed without asking the workspace (Airflow drops a trailing ``/``); give the task
    ``output_path=asset.uri`` and ``outlets=[asset]``, and a DAG with ``schedule=[asset]`` runs after each
    run that wrote fresh predictions there. Checked as ``output_path`` is, when the DAG is parsed.
    """
    from airflow.sdk import Asset

    uri = check_output_path(output_path, "output_path")
    return Asset(uri=uri, name=name or uri, **kwargs)
