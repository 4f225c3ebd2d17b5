"""The emulator's app driven in-process (ASGI), for cases a real client cannot set up on demand: a context
whose token is empty, a body that never ends, state written by an older emulator, requested job names kept.
"""

from __future__ import annotations

import json

import pytest

from airflow_batchml_emulator.app import create_app
from airflow_batchml_emulator.handlers.common import EmulatorContext, StorageAccount
from airflow_batchml_emulator.stack import azurite_connection_string
from airflow_batchml_emulator.state import StateStore

LIMIT = 4 * 1024 * 1024  # ARM's limit for a request body
WS = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local-rg"
WS += "/providers/Microsoft.MachineLearningServices/workspaces/local-ws"
LIST_SECRETS = f"{WS}/datastores/workspaceblobstore/listSecrets"


@pytest.fixture
def context(tmp_path):
    store = StateStore(tmp_path / "state.sqlite")
    yield EmulatorContext(
        store=store,
        engine=None,
        storage=StorageAccount.from_connection_string(azurite_connection_string(9)),
        base_url="https://127.0.0.1:9",
        token="a-token-of-forty-three-characters-xxxxxxxxx",
        datastores={"workspaceblobstore": "azureml-blobstore"},
    )
    store.close()


async def call(ctx, method, path, headers, receive):
    """One request through the app; returns the status and the JSON body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 9),
    }
    sent = []

    async def send(message):
        sent.append(message)

    await create_app(ctx)(scope, receive, send)
    return sent[0]["status"], json.loads(b"".join(message.get("body", b"") for message in sent[1:]))


def body_of(content: bytes = b""):
    """An ASGI ``receive`` that hands out ``content`` as the whole body."""

    async def receive():
        return {"type": "http.request", "body": content, "more_body": False}

    return receive


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer", "bearer  "])
async def test_an_empty_bearer_never_passes_even_against_an_empty_token(context, authorization):
    context.token = ""
    status, body = await call(context, "POST", LIST_SECRETS, {"Authorization": authorization}, body_of())
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"


async def test_a_body_that_never_ends_is_read_no_further_than_the_limit(context):
    chunk = b" " * 65536
    read = 0

    async def endless():
        nonlocal read
        read += len(chunk)
        if read > 2 * LIMIT:
            raise AssertionError(f"read {read} bytes of a body over the {LIMIT}-byte limit")
        return {"type": "http.request", "body": chunk, "more_body": True}

    headers = {"Authorization": f"Bearer {context.token}", "Content-Type": "application/json"}
    status, body = await call(context, "PUT", f"{WS}/computes/c1", headers, endless)
    assert status == 413 and body["error"]["code"] == "RequestBodyTooLarge"
    assert read <= LIMIT + len(chunk)


async def test_a_stored_version_that_looks_numeric_but_is_not_ascii_does_not_break_its_asset(context):
    """State written by an older emulator may hold such a version; the asset must still be served."""
    for version in ("1", "\u00b2"):
        context.store.put("models.versions", f"models/m/versions/{version}", {"properties": {}})
    headers = {"Authorization": f"Bearer {context.token}"}
    status, body = await call(context, "GET", f"{WS}/models/m", headers, body_of())
    assert status == 200 and body["properties"]["nextVersion"] == "2"
    status, _ = await call(context, "GET", f"{WS}/models", headers, body_of())
    assert status == 200


async def test_a_kept_job_name_with_a_trailing_newline_is_a_400(context):
    context.honour_job_names = True
    context.store.put("batchEndpoints", "batchEndpoints/e1", {"properties": {"defaults": {"deploymentName": "d1"}}})
    context.store.put("deployments", "batchEndpoints/e1/deployments/d1", {"properties": {}})
    uri = "azureml://datastores/workspaceblobstore/paths/in/"
    request = {"properties": {"name": "job-1\n", "inputData": {"x": {"jobInputType": "UriFolder", "uri": uri}}}}
    headers = {"Authorization": f"Bearer {context.token}", "Content-Type": "application/json"}
    status, body = await call(
        context, "POST", "/batchEndpoints/e1/jobs", headers, body_of(json.dumps(request).encode())
    )
    assert status == 400 and "job name 'job-1\\n'" in body["error"]["message"]
    assert context.store.list_jobs() == []
