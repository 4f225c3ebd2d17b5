"""AzureMLHook without a WASB connection: azure-ai-ml moves the files itself, as in production.

The connection names no ``wasb_conn_id``, so the SDK uploads the local model, code and input folders and
downloads the predictions itself, to ``https://devstoreaccount1.blob.<storage_endpoint>``: a name that
resolves nowhere. The emulator's storage proxy makes it work without touching the system: the process gets
the ``HTTPS_PROXY``/``NO_PROXY``/``REQUESTS_CA_BUNDLE`` the stack prints, and the proxy hands those
connections to Azurite. A plain azure-ai-ml snippet runs the same way in a fresh process.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest
import yaml

from tests.support.workspace import DATA, wait_for_job

pytestmark = pytest.mark.integration

CONN_ID = "azure_ml_sdk_storage"
ENDPOINT = "sdk-storage-batch"


@pytest.fixture(scope="module")
def sdk_storage_env(emulator):
    """The emulator's connection without ``wasb_conn_id``, plus the storage-proxy variables, for the module."""
    connection = emulator.connection
    del connection["extra"]["wasb_conn_id"]
    env = {f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(connection), **emulator.storage_env()}
    assert set(env) > {"HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield env


@pytest.fixture(scope="module")
def blobs(azurite):
    """Names of the blobs in Azurite, read straight from Azurite (not through the proxy)."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite)

    def names(container: str, prefix: str = "") -> list[str]:
        return [blob.name for blob in service.get_container_client(container).list_blobs(name_starts_with=prefix)]

    return names


def _deployment_folder(root) -> str:
    """The test data's model, code and environment in a fresh folder, each made unique so the SDK must upload."""
    marker = uuid.uuid4().hex
    for name in ("model", "code", "environment"):
        shutil.copytree(DATA / name, root / name)
    (root / "model" / "marker.txt").write_text(marker)
    (root / "code" / "marker.txt").write_text(marker)
    document = yaml.safe_load((DATA / "deployment.yml").read_text())
    document["model"]["name"] = "sdk-storage-model"
    (root / "deployment.yml").write_text(yaml.safe_dump(document))
    return str(root / "deployment.yml")


def test_local_folders_deploy_score_and_download_through_the_sdk(sdk_storage_env, blobs, tmp_path):
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    hook = AzureMLHook(CONN_ID, polling_interval=0.5)
    assert hook.settings.wasb_conn_id is None and hook.settings.storage_endpoint
    hook.ensure_compute("batch-cluster", max_instances=2)
    hook.create_or_update_batch_endpoint(ENDPOINT)
    spec = _deployment_folder(tmp_path / "deployment")
    hook.create_or_update_batch_deployment(spec, endpoint_name=ENDPOINT, name="sdk-logreg", set_default=True)

    container = hook.get_client().datastores.get("workspaceblobstore").container_name
    model = hook.get_client().models.get("sdk-storage-model", label="latest")
    model_prefix = model.path.split("/paths/", 1)[1]
    assert model_prefix.startswith("LocalUpload/") and model_prefix.endswith("/model")
    assert sorted(name.rsplit("/", 1)[1] for name in blobs(container, model_prefix)) == ["marker.txt", "model.txt"]

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for index in range(5):
        (inputs / f"sample-{index}.txt").write_text(f"sample {index}\n")
    output = f"azureml://datastores/workspaceblobstore/paths/outputs/sdk-storage-{uuid.uuid4().hex[:8]}/"
    job = hook.invoke_batch_endpoint(ENDPOINT, {"images": str(inputs)}, output_path=output)
    assert wait_for_job(hook, job["job_name"])["status"] == "Completed"

    rows = list(csv.reader(io.StringIO(hook.read_datastore_file(output + "predictions.csv").decode())))
    assert sorted(row[0] for row in rows) == [f"sample-{index}.txt" for index in range(5)]
    assert {row[1] for row in rows} == {(DATA / "model" / "model.txt").read_text().strip()}


SNIPPET = """
    import json, os, sys
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Model
    from azure.core.credentials import AccessToken

    extra = json.loads(os.environ["CONNECTION"])["extra"]

    class Token:
        def get_token(self, *scopes, **kwargs):
            return AccessToken(extra["token"], 2**31)

    url = extra["resource_manager_url"]
    ml_client = MLClient(
        Token(), extra["subscription_id"], extra["resource_group"], extra["workspace_name"],
        cloud="LocalEmulatorSnippet",
        cloud_metadata={
            "azure_portal": url, "resource_manager": url, "active_directory": url, "aml_resource_id": url,
            "storage_endpoint": extra["storage_endpoint"], "registry_discovery_endpoint": url,
        },
        connection_verify=extra["ca_bundle"],
    )
    model = ml_client.models.create_or_update(Model(name="snippet-model", path=sys.argv[1]))
    print(model.path)
"""


def test_plain_sdk_snippet_uploads_a_local_model(emulator, blobs, tmp_path):
    folder = tmp_path / "snippet-model"
    folder.mkdir()
    (folder / "weights.txt").write_text(uuid.uuid4().hex)
    # A fresh shell: not this process's cloud name, which azure-ai-ml leaves in AZUREML_CURRENT_CLOUD.
    env = {key: value for key, value in os.environ.items() if key != "AZUREML_CURRENT_CLOUD"}
    env.update(CONNECTION=emulator.connection_json.read_text(), **emulator.storage_env())
    script = tmp_path / "snippet.py"
    script.write_text(textwrap.dedent(SNIPPET))
    result = subprocess.run(
        [sys.executable, str(script), str(folder)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    prefix = result.stdout.strip().splitlines()[-1].split("/paths/", 1)[1]
    assert blobs("azureml-blobstore", prefix) == [f"{prefix}/weights.txt"]
