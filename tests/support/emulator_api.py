"""Driving the emulator with the bare azure-ai-ml client: its test workspace, uploads and job waits."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from azure.storage.blob import BlobServiceClient

DATA = Path(__file__).resolve().parents[1] / "integration" / "data"
ENDPOINT = "digits-batch"
COMPUTE = "batch-cluster"
CONTAINER = "azureml-blobstore"
JOB_TIMEOUT = 90.0


def upload_folder(connection_string: str, folder: Path, prefix: str = "LocalUpload") -> str:
    """Upload ``folder`` to the default datastore at ``<prefix>/<sha256>/<name>/``; return its datastore URI."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    blob_prefix = f"{prefix}/{digest.hexdigest()}/{folder.name}"
    with BlobServiceClient.from_connection_string(connection_string) as service:
        container = service.get_container_client(CONTAINER)
        for path in files:
            name = f"{blob_prefix}/{path.relative_to(folder).as_posix()}"
            container.upload_blob(name, path.read_bytes(), overwrite=True)
    return f"azureml://datastores/workspaceblobstore/paths/{blob_prefix}/"


def upload_inputs(connection_string: str, prefix: str, files: dict[str, str]) -> str:
    with BlobServiceClient.from_connection_string(connection_string) as service:
        container = service.get_container_client(CONTAINER)
        for name, text in files.items():
            container.upload_blob(f"{prefix}/{name}", text.encode(), overwrite=True)
    return f"azureml://datastores/workspaceblobstore/paths/{prefix}/"


def wait_for_status(emulator, job_name: str, statuses: set[str], timeout: float = JOB_TIMEOUT) -> dict:
    """Poll the admin job view until the job reaches one of ``statuses`` (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = emulator.request("GET", "/_emulator/jobs").json()["value"]
        job = next((item for item in jobs if item["name"] == job_name), None)
        if job and job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_name} did not reach {statuses}: {job and job['status']}")
        time.sleep(0.2)


def load_deployment(ml_client, yaml_name: str, model_uri: str, code_uri: str):
    """Load a deployment YAML and point its model and code at datastore URIs, as the hook does.

    ``code_configuration.code`` must be a string (the SDK calls ``.startswith`` on it) and a datastore URI
    there is read as an asset id, so the code folder is registered as a named code version first and
    referenced as ``azureml:<name>:<version>``.
    """
    from azure.ai.ml import load_batch_deployment
    from azure.ai.ml.entities._assets import Code  # not exported by azure.ai.ml.entities in 1.35
    from azure.ai.ml.entities._load_functions import load_model_batch_deployment

    loader = load_model_batch_deployment if yaml_name == "deployment.yml" else load_batch_deployment
    deployment = loader(DATA / yaml_name)
    deployment.model.path = model_uri
    code_name = "code-" + code_uri.rstrip("/").split("/")[-2][:24]
    code = ml_client._code.create_or_update(Code(name=code_name, version="1", path=code_uri))
    deployment.code_configuration.code = f"azureml:{code.name}:{code.version}"
    return deployment


def create_deployment(ml_client, deployment):
    return ml_client.batch_deployments.begin_create_or_update(deployment).result()


@dataclass
class Workspace:
    endpoint: str
    deployments: list[str]
    model_uri: str
    code_uri: str
