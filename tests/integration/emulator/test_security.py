"""The emulator's own defences: a bearer token on every route family, loopback only, no path escapes,
bounded request bodies, and a 400 naming the field for input of the wrong shape.

Driven over real HTTPS against the session's emulator process; requests are sent by hand so that bodies
the SDK would never build (``..`` in a path, a local output folder, a string batch size) reach the server.
"""

from __future__ import annotations

import http.client
import ssl
import stat
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from airflow_batchml_emulator.__main__ import parse_args
from airflow_batchml_emulator.stack import EmulatorProcess

pytestmark = pytest.mark.integration

DATASTORE = "azureml://datastores/workspaceblobstore/paths"
INPUT = {"images": {"jobInputType": "UriFolder", "uri": f"{DATASTORE}/security/in/"}}
BODY_LIMIT = 4 * 1024 * 1024  # ARM's limit for a request body


def ws_path(emulator) -> str:
    extra = emulator.connection["extra"]
    return (
        f"/subscriptions/{extra['subscription_id']}/resourceGroups/{extra['resource_group']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{extra['workspace_name']}"
    )


def route_families(emulator) -> dict[str, tuple[str, str]]:
    ws = ws_path(emulator)
    sub = emulator.connection["extra"]["subscription_id"]
    return {
        "arm workspace": ("GET", ws),
        "arm write": ("PUT", f"{ws}/computes/c1"),
        "arm datastore secrets": ("POST", f"{ws}/datastores/workspaceblobstore/listSecrets"),
        "arm operation status": (
            "GET",
            f"/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/eastus/mfeOperationsStatus/x",
        ),
        "scoring": ("POST", "/batchEndpoints/digits-batch/jobs"),
        "mferp": ("GET", f"/mferp/managementfrontend{ws}/batchEndpoints/digits-batch/jobs"),
        "history": ("GET", f"/history/v1.0{ws}/runs/some-job/details"),
        "pipelines": ("POST", f"/pipelines/v1.0{ws}/PipelineRuns/PipelineSubmit/some-id"),
        "admin jobs": ("GET", "/_emulator/jobs"),
        "admin faults": ("GET", "/_emulator/faults"),
        "admin health": ("GET", "/_emulator/health"),
    }


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic {token}", "Bearer", "{token}"])
def test_every_route_family_needs_the_bearer_token(emulator, authorization):
    headers = {"Authorization": authorization.format(token=emulator.token)} if authorization else {}
    refused = {}
    for family, (method, path) in route_families(emulator).items():
        response = emulator.request(method, path, token=None, headers=dict(headers), json={})
        refused[family] = (response.status_code, response.json()["error"]["code"])
        assert "wrong-token" not in response.text and emulator.token not in response.text
    assert refused == {family: (401, "AuthenticationFailed") for family in refused}


def test_the_right_token_passes_the_gate(emulator):
    passed = {
        family: emulator.request(method, path, json={}).status_code
        for family, (method, path) in route_families(emulator).items()
    }
    assert 401 not in passed.values(), passed


def test_log_urls_need_their_signature(emulator):
    assert emulator.request("GET", "/_logs/some-job/std_log.txt", token=None).status_code == 401
    assert emulator.request("GET", "/_logs/some-job/std_log.txt?sig=forged", token=None).status_code == 401


def test_binds_loopback_only(emulator, azurite):
    listening = [
        conn.laddr
        for conn in psutil.Process(emulator.proc.pid).net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    ]
    proxy_port = urlsplit(emulator.storage_env()["HTTPS_PROXY"]).port  # the storage proxy, loopback as well
    assert sorted(listening) == sorted([("127.0.0.1", emulator.port), ("127.0.0.1", proxy_port)])
    assert parse_args(["--state-dir", "s", "--port", "1"]).host == "127.0.0.1"
    assert parse_args(["--state-dir", "s", "--port", "1", "--host", "0.0.0.0"]).host == "0.0.0.0"  # when told


def score(emulator, endpoint: str, **properties):
    body = {"properties": {"inputData": INPUT, **properties}}
    return emulator.request("POST", f"/batchEndpoints/{endpoint}/jobs", json=body)


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"outputFileName": "../escape.csv"}, "outputFileName"),
        ({"outputFileName": "/etc/escape.csv"}, "outputFileName"),
        ({"outputFileName": "sub/dir.csv"}, "outputFileName"),
        ({"outputFileName": "..\\escape.csv"}, "outputFileName"),
        ({"outputFileName": ".."}, "outputFileName"),
        ({"outputData": {"score": {"jobOutputType": "UriFolder", "uri": f"{DATASTORE}/out/../../x/"}}}, "outputData"),
        ({"outputData": {"score": {"jobOutputType": "UriFolder", "uri": f"{DATASTORE}/out/%2E%2E/x/"}}}, "outputData"),
        ({"outputData": {"score": {"jobOutputType": "UriFile", "uri": f"{DATASTORE}/out/.."}}}, "outputData"),
        ({"outputData": {"score": {"jobOutputType": "UriFolder", "uri": "/tmp/escape/"}}}, "outputData"),
        ({"outputData": {"score": {"jobOutputType": "UriFolder", "uri": "file:///tmp/escape/"}}}, "outputData"),
        ({"outputData": {"score": {"jobOutputType": "UriFolder", "uri": "out/relative/"}}}, "outputData"),
        ({"inputData": {"images": {"jobInputType": "UriFolder", "uri": f"{DATASTORE}/a/../../b/"}}}, "inputData"),
    ],
)
def test_scoring_post_refuses_paths_that_leave_their_folder(emulator, workspace, properties, field):
    before = len(emulator.request("GET", "/_emulator/jobs").json()["value"])
    response = score(emulator, workspace.endpoint, **properties)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(field)
    assert len(emulator.request("GET", "/_emulator/jobs").json()["value"]) == before  # nothing was created


def test_scoring_post_still_takes_a_plain_output(emulator, workspace):
    output = {"score": {"jobOutputType": "UriFolder", "uri": f"{DATASTORE}/security/out/"}}
    response = score(emulator, workspace.endpoint, outputData=output, outputFileName="scores.csv")
    assert response.status_code == 201, response.text


def test_an_empty_token_file_is_replaced_and_an_empty_bearer_refused(azurite, tmp_path):
    state_dir = tmp_path / "emulator"
    state_dir.mkdir()
    (state_dir / "token").write_text("")  # an older emulator crashed between create and write
    emulator = EmulatorProcess(state_dir, azurite)
    emulator.start()
    try:
        token = (state_dir / "token").read_text()
        assert len(token) >= 32 and emulator.connection["extra"]["token"] == token
        assert stat.S_IMODE((state_dir / "token").stat().st_mode) == 0o600
        extra = emulator.connection["extra"]
        secrets_url = f"{emulator.url}{ws_path(emulator)}/datastores/workspaceblobstore/listSecrets"
        answers = {
            authorization: requests.post(
                secrets_url, headers={"Authorization": authorization}, verify=extra["ca_bundle"], timeout=30
            ).status_code
            for authorization in ("Bearer ", "Bearer", f"Bearer {token}")
        }
        assert answers == {"Bearer ": 401, "Bearer": 401, f"Bearer {token}": 200}
    finally:
        emulator.stop()


def _connection(emulator, headers: dict[str, str], path: str) -> http.client.HTTPSConnection:
    """A connection that has sent a PUT's headers and no body yet."""
    context = ssl.create_default_context(cafile=emulator.ca_bundle)
    connection = http.client.HTTPSConnection("127.0.0.1", emulator.port, context=context, timeout=10)
    connection.putrequest("PUT", path)
    for name, value in {"Authorization": f"Bearer {emulator.token}", **headers}.items():
        connection.putheader(name, value)
    connection.endheaders()
    return connection


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(emulator):
    headers = {"Content-Type": "application/json", "Content-Length": str(400 * 1024 * 1024)}
    connection = _connection(emulator, headers, f"{ws_path(emulator)}/computes/too-large")
    try:
        response = connection.getresponse()  # without the fix the server waits for 400 MB that never come
        assert response.status == 413
        assert b"RequestBodyTooLarge" in response.read()
    finally:
        connection.close()


def test_a_chunked_body_is_read_no_further_than_the_limit(emulator):
    chunk = b" " * 65536
    connection = _connection(
        emulator,
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        f"{ws_path(emulator)}/computes/c",
    )
    try:
        for _ in range(BODY_LIMIT // len(chunk) + 1):  # one chunk past the limit, and no final chunk
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        response = connection.getresponse()  # without the fix the server waits for the rest of the body
        assert response.status == 413
        assert b"RequestBodyTooLarge" in response.read()
    finally:
        connection.close()


def test_a_body_under_the_limit_still_passes(emulator):
    body = {"properties": {"computeType": "AmlCompute", "description": "x" * (BODY_LIMIT - 1024)}}
    response = emulator.request("PUT", f"{ws_path(emulator)}/computes/large-description", json=body)
    assert response.status_code in (200, 201), response.text
    emulator.request("DELETE", f"{ws_path(emulator)}/computes/large-description")


def test_an_asset_version_that_is_not_plain_ascii_is_a_400(emulator):
    models = f"{ws_path(emulator)}/models"
    body = {"properties": {"modelUri": f"{DATASTORE}/security/model/"}}
    response = emulator.request("PUT", f"{models}/odd-version/versions/\u00b2", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("version")
    assert emulator.request("GET", models).status_code == 200
    assert emulator.request("GET", f"{models}/odd-version").status_code == 404


@pytest.mark.parametrize("top", ["\u00b2", "abc", "-1"])
def test_a_top_that_is_not_a_number_is_a_400(emulator, top):
    response = emulator.request("GET", f"{ws_path(emulator)}/models/any/versions", params={"$top": top})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("$top")


WRONG_TYPES = [
    ("miniBatchSize", "abc", "miniBatchSize"),
    ("errorThreshold", "5", "errorThreshold"),
    ("retrySettings", {"maxRetries": "x", "timeout": "PT30S"}, "retrySettings.maxRetries"),
    ("environmentVariables", ["A=1"], "environmentVariables"),
]


@pytest.mark.parametrize(("key", "value", "field"), WRONG_TYPES)
def test_a_deployment_with_a_wrong_typed_field_is_a_400(emulator, workspace, key, value, field):
    deployments = f"{ws_path(emulator)}/batchEndpoints/{workspace.endpoint}/deployments"
    good = emulator.request("GET", f"{deployments}/{workspace.deployments[0]}").json()
    body = {"location": good["location"], "properties": {**good["properties"], key: value}}
    response = emulator.request("PUT", f"{deployments}/typed-settings", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(f"properties.{field}:")
    assert emulator.request("GET", f"{deployments}/typed-settings").status_code == 404


@pytest.mark.parametrize(("key", "value", "field"), WRONG_TYPES)
def test_a_scoring_request_with_a_wrong_typed_field_is_a_400(emulator, workspace, key, value, field):
    before = len(emulator.request("GET", "/_emulator/jobs").json()["value"])
    response = score(emulator, workspace.endpoint, **{key: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(f"{field}:")
    assert len(emulator.request("GET", "/_emulator/jobs").json()["value"]) == before
