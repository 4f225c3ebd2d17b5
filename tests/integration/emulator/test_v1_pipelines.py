"""The v1 pipelines service (published pipelines, pipeline endpoints, schedules) on the wire, as
azureml-pipeline-core's generated client calls it: routes, PascalCase bodies, status changes and refusals."""

from __future__ import annotations

import time

import pytest

from tests.support.emulator_api import ENDPOINT, upload_inputs, wait_for_status
from tests.support.published_pipelines import v1 as v1_prefix

pytestmark = pytest.mark.integration

FINISHED = {"Completed", "Failed", "Canceled"}


@pytest.fixture(scope="module")
def v1(emulator) -> str:
    return v1_prefix(emulator)


def publish(emulator, **fields) -> dict:
    body = {"endpoint": ENDPOINT, "deployment": "digits-forest", "data_path_parameter": "input_path", **fields}
    response = emulator.request("POST", "/_emulator/pipelines", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run_body(**fields) -> dict:
    data_path = {"input_path": {"DataStoreName": "workspaceblobstore", "RelativePath": "v1/inputs"}}
    return {"ExperimentName": "v1-runs", "DataPathAssignments": data_path, **fields}


@pytest.fixture(scope="module")
def inputs(azurite) -> str:
    return upload_inputs(azurite, "v1/inputs", {"a.txt": "a", "b.txt": "bb"})


def test_published_pipeline_listed_got_and_disabled(emulator, workspace, v1):
    published = publish(emulator, name="nightly", parameters={"threshold": 0.5})
    pipeline_id = published["Id"]
    assert published["EntityStatus"] == "Active"
    assert published["ParameterAssignments"] == {"threshold": "0.5"}  # {str: str} in the service's model
    assert published["Url"].endswith(f"{v1}/PipelineRuns/PipelineSubmit/{pipeline_id}")
    assert emulator.request("GET", f"{v1}/Pipelines/{pipeline_id}").json()["Name"] == "nightly"

    disabled = emulator.request("PUT", f"{v1}/Pipelines/{pipeline_id}/status", json="Disabled")
    assert (disabled.status_code, disabled.content) == (200, b"")
    active = {item["Id"] for item in emulator.request("GET", f"{v1}/Pipelines").json()}
    every = {item["Id"]: item for item in emulator.request("GET", f"{v1}/Pipelines?activeOnly=false").json()}
    assert pipeline_id not in active
    assert every[pipeline_id]["EntityStatus"] == "Disabled"


def test_a_disabled_pipeline_refuses_runs(emulator, workspace, v1):
    pipeline_id = publish(emulator)["Id"]
    emulator.request("PUT", f"{v1}/Pipelines/{pipeline_id}/status", json="Disabled")
    refused = emulator.request("POST", f"{v1}/PipelineRuns/PipelineSubmit/{pipeline_id}", json=run_body())
    assert refused.status_code == 400
    assert refused.json()["Error"]["Code"] == "UserError"
    assert "Disabled" in refused.json()["Error"]["Message"]


def test_a_status_outside_the_enum_is_refused(emulator, workspace, v1):
    pipeline_id = publish(emulator)["Id"]
    response = emulator.request("PUT", f"{v1}/Pipelines/{pipeline_id}/status", json="Paused")
    assert response.status_code == 400
    assert "Active, Deprecated, Disabled" in response.json()["Error"]["Message"]
    assert emulator.request("GET", f"{v1}/Pipelines/{pipeline_id}").json()["EntityStatus"] == "Active"


def test_a_missing_pipeline_is_a_v1_404(emulator, v1):
    response = emulator.request("GET", f"{v1}/Pipelines/no-such-pipeline")
    assert response.status_code == 404
    assert response.json()["Error"]["Code"] == "NotFound"


def test_run_answers_a_pipeline_run_entity_and_records_the_parameters(emulator, workspace, v1, inputs):
    pipeline_id = publish(emulator, parameters={"threshold": 0.5, "label": "x"})["Id"]
    body = run_body(ParameterAssignments={"threshold": "0.7"})
    run = emulator.request("POST", f"{v1}/PipelineRuns/PipelineSubmit/{pipeline_id}", json=body)
    assert run.status_code == 200, run.text
    entity = run.json()
    assert entity["Status"]["StatusCode"] == "NotStarted"
    assert (entity["PipelineId"], entity["RunHistoryExperimentName"]) == (pipeline_id, "v1-runs")
    record = wait_for_status(emulator, entity["Id"], FINISHED)
    assert record["status"] == "Completed", record["error"]
    assert record["request"]["parameterAssignments"] == {"threshold": "0.7", "label": "x"}  # defaults filled in
    assert record["spec"]["inputs"][0]["uri"] == inputs.rstrip("/")  # RelativePath as assigned


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (run_body(ParameterAssignments={"unknown": 1}), "ParameterAssignments.unknown"),
        (run_body(DataPathAssignments={"other": {"RelativePath": "x"}}), "DataPathAssignments.other"),
        (run_body(DataPathAssignments={}), "DataPathAssignments.input_path"),
        (run_body(ParameterAssignments={"threshold": {"nested": 1}}), "ParameterAssignments.threshold"),
        ({"DataPathAssignments": {}}, "ExperimentName"),
    ],
)
def test_bad_assignments_are_refused_before_any_job(emulator, workspace, v1, body, named):
    pipeline_id = publish(emulator, parameters={"threshold": 0.5})["Id"]
    before = len(emulator.request("GET", "/_emulator/jobs").json()["value"])
    response = emulator.request("POST", f"{v1}/PipelineRuns/PipelineSubmit/{pipeline_id}", json=body)
    assert response.status_code == 400
    assert named in response.json()["Error"]["Message"]
    assert len(emulator.request("GET", "/_emulator/jobs").json()["value"]) == before


def create_endpoint(emulator, v1, name: str, pipeline_id: str) -> dict:
    body = {"Name": name, "Description": "v1 endpoint", "PipelineId": pipeline_id}
    response = emulator.request("POST", f"{v1}/PipelineEndpoints/Create", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_pipeline_endpoint_by_id_and_name_with_versions(emulator, workspace, v1, inputs):
    first, second = publish(emulator)["Id"], publish(emulator, deployment="digits-logreg")["Id"]
    created = create_endpoint(emulator, v1, "scoring-endpoint", first)
    assert (created["DefaultVersion"], created["PipelineVersionList"]) == ("0", [{"Version": "0", "PipelineId": first}])
    assert created["Url"].endswith(f"/PipelineRuns/PipelineEndpointSubmit/Id/{created['Id']}")
    versions = [*created["PipelineVersionList"], {"Version": "1", "PipelineId": second}]
    updated = emulator.request(
        "PUT", f"{v1}/PipelineEndpoints/{created['Id']}", json={**created, "PipelineVersionList": versions}
    ).json()
    assert updated["DefaultVersion"] == "0"
    by_name = emulator.request("GET", f"{v1}/PipelineEndpoints/Name?Name=scoring-endpoint").json()
    assert by_name["Id"] == created["Id"] and by_name["PipelineVersionList"] == versions
    assert emulator.request("GET", f"{v1}/PipelineEndpoints/Id/{created['Id']}").json()["Name"] == "scoring-endpoint"

    submit = f"{v1}/PipelineRuns/PipelineEndpointSubmit/Id/{created['Id']}"
    default_run = emulator.request("POST", submit, json=run_body()).json()
    version_run = emulator.request("POST", f"{submit}/1?pipelineVersion=1", json=run_body()).json()
    assert (default_run["PipelineId"], version_run["PipelineId"]) == (first, second)
    assert wait_for_status(emulator, version_run["Id"], FINISHED)["deployment"] == "digits-logreg"
    missing = emulator.request("POST", f"{submit}/7?pipelineVersion=7", json=run_body())
    assert missing.status_code == 400 and "no version 7" in missing.json()["Error"]["Message"]


def test_pipeline_endpoint_names_are_unique_and_missing_names_404(emulator, workspace, v1):
    pipeline_id = publish(emulator)["Id"]
    create_endpoint(emulator, v1, "unique-endpoint", pipeline_id)
    again = emulator.request(
        "POST", f"{v1}/PipelineEndpoints/Create", json={"Name": "unique-endpoint", "PipelineId": pipeline_id}
    )
    assert again.status_code == 400
    assert emulator.request("GET", f"{v1}/PipelineEndpoints/Name?Name=nobody").status_code == 404


def schedule_body(pipeline_id: str, name: str, **fields) -> dict:
    return {
        "Name": name,
        "PipelineId": pipeline_id,
        "PipelineSubmissionInfo": {"ExperimentName": "v1-scheduled", "ParameterAssignments": {}},
        "ScheduleType": "0",
        "Recurrence": {"Frequency": "Minute", "Interval": 15},
        **fields,
    }


def test_schedules_listed_disabled_and_provisioned(emulator, workspace, v1):
    pipeline_id = publish(emulator)["Id"]
    every_15 = emulator.request("POST", f"{v1}/Schedules/Create", json=schedule_body(pipeline_id, "every-15")).json()
    trigger = {
        "DataStoreName": "workspaceblobstore",
        "PathOnDataStore": "landing",
        "DataPathParameterName": "input_path",
    }
    on_change = emulator.request(
        "POST",
        f"{v1}/Schedules/Create",
        json=schedule_body(pipeline_id, "on-change", ScheduleType="1", Recurrence=None, DataStoreTriggerInfo=trigger),
    ).json()
    assert (every_15["ScheduleType"], on_change["ScheduleType"]) == ("Recurrence", "DataStore")
    assert on_change["DataStoreTriggerInfo"]["PathOnDataStore"] == "landing"
    of_pipeline = emulator.request("GET", f"{v1}/Schedules/Pipeline/{pipeline_id}").json()
    assert {item["Name"] for item in of_pipeline} == {"every-15", "on-change"}

    # Schedule.disable(): GET the entity, change EntityStatus, PUT it back, poll ProvisioningStatus.
    entity = emulator.request("GET", f"{v1}/Schedules/{every_15['Id']}").json()
    updated = emulator.request("PUT", f"{v1}/Schedules/{every_15['Id']}", json={**entity, "EntityStatus": "Disabled"})
    assert updated.json()["ProvisioningStatus"] == "Provisioning"
    assert wait_provisioned(emulator, f"{v1}/Schedules/{every_15['Id']}")["EntityStatus"] == "Disabled"
    active = {item["Id"] for item in emulator.request("GET", f"{v1}/Schedules?activeOnly=true").json()}
    every = {item["Id"] for item in emulator.request("GET", f"{v1}/Schedules?activeOnly=false").json()}
    assert on_change["Id"] in active and every_15["Id"] not in active
    assert {on_change["Id"], every_15["Id"]} <= every


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"Recurrence": {"Frequency": "Second", "Interval": 1}}, "Recurrence.Frequency"),
        ({"Recurrence": {"Frequency": "Minute", "Interval": 0}}, "Recurrence.Interval"),
        ({"ScheduleType": "1", "DataStoreTriggerInfo": {}}, "DataStoreTriggerInfo.DataStoreName"),
        ({"PipelineId": "no-such-pipeline"}, "no-such-pipeline"),
        ({"PipelineSubmissionInfo": {}}, "ExperimentName"),
    ],
)
def test_bad_schedules_are_refused(emulator, workspace, v1, fields, named):
    pipeline_id = publish(emulator)["Id"]
    response = emulator.request("POST", f"{v1}/Schedules/Create", json=schedule_body(pipeline_id, "bad", **fields))
    assert response.status_code in (400, 404)
    assert named in response.json()["Error"]["Message"]


def wait_provisioned(emulator, path: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while (entity := emulator.request("GET", path).json())["ProvisioningStatus"] == "Provisioning":
        assert time.monotonic() < deadline, f"{path} stayed Provisioning"
        time.sleep(0.2)
    return entity
