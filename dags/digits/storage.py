"""Blob helpers the digits DAGs share: the workspace container, and listing, copying, deleting folders.

Imported at DAG parse time for ``CONTAINER`` only; the storage client is imported when a task calls in.
"""

from __future__ import annotations

import os
from typing import Any

#: The container behind the workspace's default datastore ``workspaceblobstore``: ``azureml-blobstore`` on
#: the emulator, ``azureml-blobstore-<workspace id>`` on Azure (``az ml datastore show -n workspaceblobstore``).
CONTAINER = os.environ.get("DIGITS_CONTAINER", "azureml-blobstore")
#: The same container as the workspace's default datastore sees it, and the seeded images in it.
DATASTORE = "azureml://datastores/workspaceblobstore/paths"
IMAGES = f"{DATASTORE}/digits/images/"
#: Seconds between the change watcher's listings (Azure ML SDK v1 polled every few minutes).
WATCH_POLL_INTERVAL = float(os.environ.get("DIGITS_WATCH_POLL_INTERVAL", "30"))


def wasb(wasb_conn_id: str = "wasb_default") -> Any:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    return WasbHook(wasb_conn_id=wasb_conn_id)


def list_folder(folder: str, container: str = CONTAINER, wasb_conn_id: str = "wasb_default") -> list[str]:
    """Names of the blobs directly in ``folder`` (not in its sub-folders)."""
    prefix = folder.rstrip("/") + "/"
    names = wasb(wasb_conn_id).get_blobs_list(container, prefix=prefix)
    return [name for name in names if not name.endswith("/")]


def delete_folder(folder: str, container: str = CONTAINER, wasb_conn_id: str = "wasb_default") -> int:
    """Delete every blob under ``folder``; returns how many there were."""
    hook = wasb(wasb_conn_id)
    client = hook.get_conn().get_container_client(container)
    names = [blob.name for blob in client.list_blobs(name_starts_with=folder.rstrip("/") + "/")]
    for name in names:
        client.delete_blob(name)
    return len(names)
