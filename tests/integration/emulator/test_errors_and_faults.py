"""ARM error bodies, authentication, and injected faults (throttling, transient errors, failed LRO and job)."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support.emulator_api import ENDPOINT, upload_inputs, wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def no_faults_left(emulator):
    yield
    emulator.request("DELETE", "/_emulator/faults")


def _ws(emulator) -> str:
    extra = emulator.connection["extra"]
    return (
        f"/subscriptions/{extra['subscription_id']}/resourcegroups/{extra['resource_group']}"
        f"/providers/microsoft.machinelearningservices/workspaces/{extra['workspace_name']}"
    )


def test_token_is_required_except_for_discovery(emulator):
    for token in (None, "wrong"):
        response = emulator.request("GET", _ws(emulator), token=token)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert emulator.request("GET", "/discovery", token=None).json()["api"] == emulator.url
    assert emulator.request("GET", _ws(emulator)).json()["location"] == "eastus"


def test_errors_are_arm_json(emulator, ml_client):
    with pytest.raises(ResourceNotFoundError):
        ml_client.batch_endpoints.get("no-such-endpoint")
    unknown = emulator.request("GET", "/no/such/route")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ResourceNotFound"
    bad_json = emulator.request(
        "PUT", f"{_ws(emulator)}/computes/c1", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and "error" in bad_json.json()
    no_properties = emulator.request("PUT", f"{_ws(emulator)}/batchEndpoints/e1", json={"location": "x"})
    assert no_properties.status_code == 400
    assert "properties" in no_properties.json()["error"]["message"]
    other_ws = emulator.request("GET", _ws(emulator).replace("local-ws", "other-ws") + "/computes")
    assert other_ws.status_code == 404


def test_throttling_and_transient_errors_are_retried_by_the_sdk(emulator, ml_client, workspace):
    rule = {"method": "GET", "path_regex": f"/batchEndpoints/{ENDPOINT}$", "status": 429, "retry_after": 1}
    assert emulator.request("POST", "/_emulator/faults", json=rule).status_code == 201
    assert ml_client.batch_endpoints.get(ENDPOINT).name == ENDPOINT
    rule = {"path_regex": f"/batchEndpoints/{ENDPOINT}$", "status": 503, "retry_after": 1, "times": 2}
    emulator.request("POST", "/_emulator/faults", json=rule)
    assert ml_client.batch_endpoints.get(ENDPOINT).name == ENDPOINT
    assert emulator.request("GET", "/_emulator/faults").json()["value"] == []


def test_failed_long_running_create(emulator, ml_client):
    from azure.ai.ml.entities import AmlCompute

    rule = {"fail_lro": "computes", "message": "Quota exceeded for STANDARD_NC24 in eastus."}
    emulator.request("POST", "/_emulator/faults", json=rule)
    with pytest.raises(HttpResponseError) as caught:
        ml_client.compute.begin_create_or_update(AmlCompute(name="gpu", size="STANDARD_NC24")).result()
    assert "QuotaExceeded" in str(caught.value)
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("gpu")


def test_failed_job(emulator, ml_client, workspace, azurite):
    from azure.ai.ml import Input

    uri = upload_inputs(azurite, "inputs/fail", {"x.txt": "x"})
    emulator.request("POST", "/_emulator/faults", json={"fail_job": "next", "message": "disk full"})
    name = ml_client.batch_endpoints.invoke(
        endpoint_name=ENDPOINT, job_name=f"job-{uuid.uuid4().hex[:8]}", inputs={"x": Input(type="uri_folder", path=uri)}
    ).name
    record = wait_for_status(emulator, name, {"Failed"})
    assert record["error"]["message"] == "disk full"
    assert ml_client.jobs.get(name).status == "Failed"


def test_invalid_fault_rule_is_a_400(emulator):
    response = emulator.request("POST", "/_emulator/faults", json={"path_regex": "x", "status": 418})
    assert response.status_code == 400
