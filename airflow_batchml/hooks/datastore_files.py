"""Move files between this machine and the workspace datastore through a WASB connection.

azure-ai-ml uploads local folders itself, to ``https://{account}.blob.{cloud storage suffix}``: a host
that must resolve through DNS. Where that cannot work (a storage account behind a private endpoint, a
custom cloud, the local Azurite) the ``azure_ml`` connection names a WASB connection instead, and local
folders go through the Microsoft Azure provider's WASB hook into the workspace's default datastore
container, content-addressed like the SDK does (``LocalUpload/<sha256>/<folder>``), so re-running the same
deployment uploads nothing and yields the same URI. Results (``predictions.csv``) come back the same way.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from urllib.parse import quote, unquote

from airflow_batchml.batch_job import DATASTORE_URI

log = logging.getLogger(__name__)

UPLOAD_ROOT = "LocalUpload"


def content_hash(path: Path) -> str:
    """SHA-256 over relative file names and contents; identical folders hash alike wherever they are.

    Each file is framed as name, NUL, then its size, so no content can pass for another file's name.
    """
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(file.relative_to(path.parent if path.is_file() else path).as_posix().encode())
        digest.update(b"\0")
        digest.update(file.stat().st_size.to_bytes(8, "big"))
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


class DatastoreFiles:
    """Copy files into and out of one datastore's container through the WASB hook."""

    def __init__(self, wasb_conn_id: str, datastore_name: str, container_name: str) -> None:
        self.wasb_conn_id = wasb_conn_id
        self.datastore_name = datastore_name
        self.container_name = container_name

    def upload(self, local_path: str | Path) -> str:
        """Upload a file or folder (once per content) and return its ``azureml://datastores/...`` URI."""
        from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

        path = Path(local_path).resolve()
        if not path.exists():
            raise FileNotFoundError(f"local path {str(local_path)!r} does not exist")
        prefix = f"{UPLOAD_ROOT}/{content_hash(path)}/{path.name}"
        hook = WasbHook(wasb_conn_id=self.wasb_conn_id)
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        names = {prefix if path.is_file() else f"{prefix}/{f.relative_to(path).as_posix()}": f for f in files}
        existing = set(hook.get_blobs_list(self.container_name, prefix=prefix))
        missing = {name: file for name, file in names.items() if name not in existing}
        for name, file in missing.items():
            hook.load_file(str(file), self.container_name, name, overwrite=True)
        log.info(
            "Uploaded %d of %d files of %s to datastore %s",
            len(missing),
            len(names),
            path.name,
            self.datastore_name,
        )
        # The path of a datastore URI is a URL path: percent-encoded here, decoded once by Azure ML.
        uri = f"azureml://datastores/{self.datastore_name}/paths/{quote(prefix, safe='/')}"
        return uri + ("" if path.is_file() else "/")

    def read(self, uri: str) -> bytes:
        """Return the content of a file named by an ``azureml://datastores/<name>/paths/<path>`` URI."""
        from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

        match = DATASTORE_URI.fullmatch(uri)
        if not match or match["store"] != self.datastore_name:
            raise ValueError(f"{uri!r} is not a file of datastore {self.datastore_name}")
        return WasbHook(wasb_conn_id=self.wasb_conn_id).download(self.container_name, unquote(match["path"])).readall()
