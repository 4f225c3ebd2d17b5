"""The emulator's own defences: a bearer token on every route family, loopback only, no path escapes.

Driven over real HTTPS against the session's emulator process; the scoring POST is sent by hand so that
bodies the SDK would never build (``..`` in a path, a local output folder) reach the server.
"""

from __future__ import annotations

import psutil
import pytest

from airflow_batchml.emulator.__main__ import parse_args
from tests.integration.emulator.conftest import workspace  # noqa: F401  (shared fixture)

pytestmark = pytest.mark.integration

DATASTORE = "azureml://datastores/workspaceblobstore/paths"
INPUT = {"images": {"jobInputType": "UriFolder", "uri": f"{DATASTORE}/security/in/"}}


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
    assert listening == [("127.0.0.1", emulator.port)]
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
def test_scoring_post_refuses_paths_that_leave_their_folder(emulator, workspace, properties, field):  # noqa: F811
    before = len(emulator.request("GET", "/_emulator/jobs").json()["value"])
    response = score(emulator, workspace.endpoint, **properties)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(field)
    assert len(emulator.request("GET", "/_emulator/jobs").json()["value"]) == before  # nothing was created


def test_scoring_post_still_takes_a_plain_output(emulator, workspace):  # noqa: F811
    output = {"score": {"jobOutputType": "UriFolder", "uri": f"{DATASTORE}/security/out/"}}
    response = score(emulator, workspace.endpoint, outputData=output, outputFileName="scores.csv")
    assert response.status_code == 201, response.text
