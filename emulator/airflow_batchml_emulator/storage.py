"""Moving a batch job's data: resolve the URIs Azure ML accepts, download inputs, upload outputs.

A job names its code, model, inputs and output as ``azureml://datastores/<name>/paths/<path>`` (or the
long form with subscription, resource group and workspace), as blob URLs of the workspace's storage
account, or, on the emulator only, as local paths. Datastores map to containers of one storage account
(Azurite locally); the engine works on local copies, as Azure's workers work on mounted or downloaded data.
"""

from __future__ import annotations

import logging
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from airflow_batchml_emulator.scoring.spec import ErrorCode, JobError

if TYPE_CHECKING:
    from azure.storage.blob import BlobProperties, ContainerClient

log = logging.getLogger(__name__)

#: Use with ``fullmatch``; ``<path>`` is a URL path, percent-decoded once into the blob name (as Azure ML does).
DATASTORE_URI = re.compile(r"azureml://(?:subscriptions/.+?/workspaces/[^/]+/)?datastores/([^/]+)/paths/(.*)", re.S)
DOWNLOAD_THREADS = 8
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class BlobLocation:
    """A blob or a blob folder (a name prefix) in one container of the storage account."""

    container: str
    path: str

    def child(self, name: str) -> BlobLocation:
        """The location ``name`` inside this folder (``name`` may not escape it)."""
        check_inside(name)
        return BlobLocation(self.container, f"{self.path.rstrip('/')}/{name}".lstrip("/"))


@dataclass(frozen=True)
class LocalLocation:
    """A file or folder on this machine (emulator only: Azure has no access to the caller's disk)."""

    path: Path

    def child(self, name: str) -> LocalLocation:
        """The location ``name`` inside this folder (``name`` may not escape it)."""
        check_inside(name)
        return LocalLocation(self.path / name)


Location = BlobLocation | LocalLocation


def escapes(path: str) -> bool:
    """Whether a relative path could leave its folder: absolute, a ``..`` segment (``/`` or ``\\``), a NUL."""
    return path.startswith(("/", "\\")) or "\0" in path or ".." in path.replace("\\", "/").split("/")


def check_inside(path: str) -> None:
    """Refuse a path meant to stay inside a folder that could leave it."""
    if escapes(path):
        raise JobError(ErrorCode.INVALID_SPEC, f"{path!r} leaves its folder ('..', an absolute path or a NUL)")


def has_parent_segment(uri: str) -> bool:
    """Whether the path part of a URI or local path holds a ``..`` segment (also when percent-encoded)."""
    path = unquote(urlsplit(uri).path if "://" in uri else uri)
    return ".." in path.replace("\\", "/").split("/")


def split_output(uri: str, default_file_name: str) -> tuple[str, str]:
    """Split an output URI into (folder URI, file name).

    Azure treats an output path whose last segment has a suffix (``.../scores.csv``) as the output file
    itself; any other path is the folder that receives ``output_file_name``.
    """
    trimmed = uri.rstrip("/")
    last = PurePosixPath(urlsplit(trimmed).path).name
    if uri.endswith("/") or not PurePosixPath(last).suffix:
        return uri, default_file_name
    return trimmed[: -len(last)], last


def link_tree(source: Path, target: Path) -> None:
    """Mirror ``source`` at ``target``: real folders, each file a link to the original.

    A link to the whole folder would do for ``open``, but ``os.walk`` and ``Path.rglob`` do not enter a
    linked folder, so a script that searches its model folder (``rglob("*.joblib")``) would find nothing
    where Azure's download holds the files.
    """
    if source.is_file():
        target.symlink_to(source)
        return
    target.mkdir()
    for path in sorted(source.rglob("*")):
        link = target / path.relative_to(source)
        if path.is_dir():
            link.mkdir(exist_ok=True)
        else:
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)


class JobStorage:
    """The storage account and datastores a job's URIs resolve against.

    :param connection_string: the storage account's connection string (Azurite's or Azure's); ``None`` when
        jobs read and write local paths only (local scoring), so a storage URI fails the job naming it.
    :param datastores: datastore name -> container name.
    :param client_endpoint: the account's blob endpoint as clients name it, when that differs from the
        connection string's (``https://{account}.blob.{suffix}`` through the storage proxy).
    """

    def __init__(
        self, connection_string: str | None, datastores: dict[str, str], client_endpoint: str | None = None
    ) -> None:
        self._connection_string = connection_string
        self._datastores = datastores
        self._client_endpoint = client_endpoint
        self._client: BlobServiceClient | None = None

    @property
    def client(self) -> BlobServiceClient:
        """The blob service client, created on first use so local-only jobs never need the account."""
        if self._client is None:
            if self._connection_string is None:
                raise JobError(ErrorCode.INVALID_SPEC, "no storage account here: only local paths can be read")
            self._client = BlobServiceClient.from_connection_string(self._connection_string)
        return self._client

    def resolve(self, uri: str) -> Location:
        """Turn a datastore URI, blob URL or local path into a location; reject what cannot be read.

        A ``..`` segment is refused in every form: blob names are literal in Azure, but HTTP clients and
        servers normalise ``a/../b`` to ``b``, and on disk it would leave the folder named.
        """
        if has_parent_segment(uri):
            raise JobError(ErrorCode.INVALID_SPEC, f"{uri} holds a '..' segment; paths may not leave their folder")
        if match := DATASTORE_URI.fullmatch(uri):
            datastore, path = match.groups()
            if datastore not in self._datastores:
                raise JobError(
                    ErrorCode.INVALID_SPEC,
                    f"unknown datastore {datastore!r} in {uri}; known: {sorted(self._datastores)}",
                )
            return BlobLocation(self._datastores[datastore], unquote(path).lstrip("/"))
        if uri.startswith(("http://", "https://")):
            return self._resolve_url(uri)
        if uri.startswith("azureml:"):
            raise JobError(
                ErrorCode.INVALID_SPEC,
                f"{uri} is not a storage path; data assets must be resolved to their path before submit",
            )
        return LocalLocation(Path(uri.removeprefix("file://")).expanduser())

    def _resolve_url(self, uri: str) -> BlobLocation:
        """A blob URL of the configured account: ``<account endpoint>/<container>/<path>``."""
        endpoint = self.client.url.rstrip("/")
        target = urlsplit(uri)
        for base in (urlsplit(name) for name in (endpoint, self._client_endpoint) if name):
            prefix = base.path.rstrip("/") + "/"
            if _same_host(target, base) and target.path.startswith(prefix):
                container, _, path = unquote(target.path[len(prefix) :]).partition("/")
                return BlobLocation(container, path)
        raise JobError(ErrorCode.INVALID_SPEC, f"{uri} is not in the configured storage account ({endpoint})")

    def fetch(self, location: Location, dest: Path, kind: str) -> Path:
        """Make ``location`` available locally; return the local file or folder.

        Local paths are used in place (no copy). Blob folders are downloaded with their sub-folders,
        skipping zero-byte folder markers; a folder with no files is an error, as for Azure's inputs.
        """
        if isinstance(location, LocalLocation):
            if not location.path.exists():
                raise JobError(ErrorCode.INPUT_NOT_FOUND, f"{location.path} does not exist")
            return location.path
        try:
            if kind == "uri_file":
                return self._download_file(location, dest)
            return self._download_folder(location, dest)
        except ResourceNotFoundError as err:
            raise JobError(ErrorCode.INPUT_NOT_FOUND, f"{_describe(location)} does not exist") from err
        except AzureError as err:
            raise JobError(ErrorCode.STORAGE, f"reading {_describe(location)} failed: {err}") from err

    def _download_file(self, location: BlobLocation, dest: Path) -> Path:
        name = PurePosixPath(location.path).name
        if name in ("", "."):
            raise JobError(ErrorCode.INVALID_SPEC, f"{_describe(location)} is not a file")
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        blob = self.client.get_blob_client(location.container, location.path)
        with target.open("wb") as handle:
            blob.download_blob().readinto(handle)
        return target

    def _download_folder(self, location: BlobLocation, dest: Path) -> Path:
        container = self.client.get_container_client(location.container)
        if not container.exists():
            raise JobError(ErrorCode.INPUT_NOT_FOUND, f"container {location.container} does not exist")
        prefix = f"{location.path.rstrip('/')}/".lstrip("/")
        listing = container.list_blobs(name_starts_with=prefix or None, include=["metadata"])
        names = [blob.name for blob in listing if not _is_folder_marker(blob)]
        if not names:
            raise JobError(ErrorCode.INPUT_NOT_FOUND, f"{_describe(location)} has no files")
        for name in names:  # a blob named 'in/../../x' would be written outside the job folder
            check_inside(name[len(prefix) :])
        dest.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            list(pool.map(lambda name: _download_blob(container, name, dest / name[len(prefix) :]), names))
        return dest

    def exists(self, location: Location) -> bool:
        """Whether a file is already at ``location`` (an existing output fails the job, as in Azure)."""
        if isinstance(location, LocalLocation):
            return location.path.exists()
        try:
            return self.client.get_blob_client(location.container, location.path).exists()
        except AzureError as err:
            raise JobError(ErrorCode.STORAGE, f"checking {_describe(location)} failed: {err}") from err

    def is_file(self, location: Location) -> bool:
        """Whether ``location`` is one file rather than a folder (a model may be either)."""
        if isinstance(location, LocalLocation):
            return location.path.is_file()
        return bool(location.path) and self.exists(location)

    def upload(self, source: Path, location: Location) -> None:
        """Write one local file to ``location``, creating the container or folders it needs."""
        if isinstance(location, LocalLocation):
            if location.path.exists():
                raise JobError(ErrorCode.OUTPUT_EXISTS, f"{location.path} already exists")
            location.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, location.path)
            return
        try:
            container = self.client.get_container_client(location.container)
            if not container.exists():
                container.create_container()
            with source.open("rb") as handle:
                container.upload_blob(location.path, handle, overwrite=False)
        except ResourceExistsError as err:
            raise JobError(ErrorCode.OUTPUT_EXISTS, f"{_describe(location)} already exists") from err
        except AzureError as err:
            raise JobError(ErrorCode.STORAGE, f"writing {_describe(location)} failed: {err}") from err


def _same_host(target: SplitResult, base: SplitResult) -> bool:
    """Same host and port; ``localhost`` and ``127.0.0.1`` are one host (Azurite URLs use either)."""

    def canonical(url: SplitResult) -> tuple[str | None, int | None]:
        host = url.hostname
        return ("127.0.0.1" if host in LOOPBACK else host), url.port

    return canonical(target) == canonical(base)


def _is_folder_marker(blob: BlobProperties) -> bool:
    """Folder placeholders (``name/`` or ADLS ``hdi_isfolder``) are not files to score."""
    return blob.name.endswith("/") or (blob.size == 0 and bool((blob.metadata or {}).get("hdi_isfolder")))


def _download_blob(container: ContainerClient, name: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        container.download_blob(name).readinto(handle)


def _describe(location: Location) -> str:
    if isinstance(location, LocalLocation):
        return str(location.path)
    return f"blob {location.container}/{location.path}"
