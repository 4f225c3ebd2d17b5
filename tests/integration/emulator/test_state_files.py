"""What a job leaves in the emulator's state dir: owner-only files and folders, and no SAS signature.

Job requests, errors and logs carry input URLs; the state dir must not hand their signatures to other users
of the machine, nor keep them at all.
"""

from __future__ import annotations

import stat
import uuid

import pytest
from azure.storage.blob import BlobServiceClient

from tests.support.emulator_api import CONTAINER, ENDPOINT, upload_inputs, wait_for_status

pytestmark = pytest.mark.integration


def test_a_job_with_a_sas_input_url_leaves_owner_only_files_and_no_signature(emulator, workspace, azurite):
    upload_inputs(azurite, "inputs/private", {"a.txt": "xx", "b.txt": "xxx"})
    with BlobServiceClient.from_connection_string(azurite) as service:
        account_url = service.url.rstrip("/")
    secret = f"SECRET{uuid.uuid4().hex}"
    uri = f"{account_url}/{CONTAINER}/inputs/private/?sv=2024-11-04&sr=c&sp=rl&sig={secret}"
    body = {"properties": {"inputData": {"digits": {"jobInputType": "UriFolder", "uri": uri}}}}

    response = emulator.request("POST", f"/batchEndpoints/{ENDPOINT}/jobs", json=body)

    assert response.status_code == 201, response.text
    name = response.json()["name"]
    record = wait_for_status(emulator, name, {"Completed", "Failed", "Canceled"})
    assert record["status"] == "Completed", record["error"]
    assert "sig=***" in record["spec"]["inputs"][0]["uri"]
    state = emulator.state_dir
    files = [path for path in state.rglob("*") if path.is_file()]
    assert [str(path.relative_to(state)) for path in files if secret.encode() in path.read_bytes()] == []
    private = ["state.sqlite", "state.sqlite-wal", "state.sqlite-shm", f"logs/{name}/std_log.txt"]
    folders = ["logs", f"logs/{name}", "jobs"]
    modes = {path: stat.S_IMODE((state / path).stat().st_mode) for path in private + folders}
    assert modes == {**dict.fromkeys(private, 0o600), **dict.fromkeys(folders, 0o700)}
