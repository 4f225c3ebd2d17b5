"""v1 through the hook and the emulator: publish (admin route), list, resolve by id and by name (and
version), run with ParameterAssignments, disable, refused runs; v1 schedules listed and disabled."""

from __future__ import annotations

import uuid

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLRemoteError
from tests.support.published_pipelines import publish, v1
from tests.support.workspace import upload_inputs, wait_for_job

pytestmark = pytest.mark.integration


def jobs_on_emulator(emulator) -> dict[str, dict]:
    return {job["name"]: job for job in emulator.request("GET", "/_emulator/jobs").json()["value"]}


def test_published_pipeline_listed_resolved_run_by_id_then_disabled(
    hook,
    digits_deployments,
    wasb,
    container,
    emulator,
):
    inputs = upload_inputs(wasb, container, "v1-hook/in", 2)
    published = publish(emulator, name=f"nightly-{uuid.uuid4().hex[:6]}")
    listed = {item["id"]: item for item in hook.list_published_pipelines()}
    assert listed[published["Id"]]["status"] == "Active"
    assert listed[published["Id"]]["parameters"] == {"threshold": "0.5"}

    rest_endpoint = hook.resolve_pipeline_rest_endpoint(published_pipeline_id=published["Id"])
    assert rest_endpoint == published["Url"]
    run = hook.run_published_pipeline(
        rest_endpoint,
        experiment_name="v1-by-id",
        parameter_assignments={"threshold": 0.7},
        data_path_assignments={"input_data": inputs},
    )
    assert run["status"] == "NotStarted"  # the PipelineRunEntity's Status.StatusCode
    assert wait_for_job(hook, run["run_id"])["status"] == "Completed"
    assert jobs_on_emulator(emulator)[run["run_id"]]["request"]["parameterAssignments"] == {"threshold": 0.7}

    assert hook.disable_published_pipeline(published["Id"]) is True
    assert hook.disable_published_pipeline(published["Id"]) is False  # already disabled: nothing to do
    assert published["Id"] not in {item["id"] for item in hook.list_published_pipelines()}
    every = {item["id"]: item for item in hook.list_published_pipelines(include_disabled=True)}
    assert every[published["Id"]]["status"] == "Disabled"
    with pytest.raises(AzureMLRemoteError, match="Disabled"):
        hook.run_published_pipeline(
            rest_endpoint, experiment_name="v1-by-id", data_path_assignments={"input_data": inputs}
        )
    with pytest.raises(AzureMLConfigurationError, match="is Disabled") as raised:
        hook.resolve_pipeline_rest_endpoint(published_pipeline_id=published["Id"])
    assert raised.value.field == "published_pipeline_id"


def test_an_unknown_parameter_is_refused_by_the_service(
    hook,
    digits_deployments,
    emulator,
):
    published = publish(emulator)
    with pytest.raises(AzureMLRemoteError, match="ParameterAssignments.not_declared"):
        hook.run_published_pipeline(
            published["Url"],
            experiment_name="v1-unknown",
            parameter_assignments={"not_declared": 1},
            data_path_assignments={"input_data": "azureml://datastores/workspaceblobstore/paths/x/"},
        )


def test_a_missing_pipeline_id_names_the_field(hook, digits_deployments):
    with pytest.raises(AzureMLConfigurationError, match="no published pipeline") as raised:
        hook.resolve_pipeline_rest_endpoint(published_pipeline_id=str(uuid.uuid4()))
    assert raised.value.field == "published_pipeline_id"


def test_pipeline_endpoint_resolved_by_name_and_version(
    hook,
    digits_deployments,
    wasb,
    container,
    emulator,
):
    inputs = upload_inputs(wasb, container, "v1-hook/endpoint", 2)
    first, second = publish(emulator)["Id"], publish(emulator, deployment="digits-forest")["Id"]
    name = f"scoring-{uuid.uuid4().hex[:6]}"
    created = emulator.request(
        "POST", f"{v1(emulator)}/PipelineEndpoints/Create", json={"Name": name, "PipelineId": first}
    ).json()
    versions = [*created["PipelineVersionList"], {"Version": "1", "PipelineId": second}]
    emulator.request(
        "PUT", f"{v1(emulator)}/PipelineEndpoints/{created['Id']}", json={**created, "PipelineVersionList": versions}
    )

    assert hook.get_pipeline_endpoint(name)["versions"] == {"0": first, "1": second}
    assert hook.resolve_pipeline_rest_endpoint(pipeline_endpoint_name=name) == created["Url"]
    versioned = hook.resolve_pipeline_rest_endpoint(pipeline_endpoint_name=name, pipeline_version="1")
    assert versioned == f"{created['Url']}/1?pipelineVersion=1"
    run = hook.run_published_pipeline(
        versioned, experiment_name="v1-by-name", data_path_assignments={"input_data": inputs}
    )
    job = wait_for_job(hook, run["run_id"])
    assert job["status"] == "Completed"
    assert jobs_on_emulator(emulator)[run["run_id"]]["deployment"] == "digits-forest"  # version 1's pipeline

    with pytest.raises(AzureMLConfigurationError, match="has no version 9") as raised:
        hook.resolve_pipeline_rest_endpoint(pipeline_endpoint_name=name, pipeline_version="9")
    assert raised.value.field == "pipeline_version"
    with pytest.raises(AzureMLConfigurationError) as raised:
        hook.resolve_pipeline_rest_endpoint(pipeline_endpoint_name="no-such-endpoint")
    assert raised.value.field == "pipeline_endpoint_name"


def test_v1_schedules_listed_and_disabled_by_id(hook, digits_deployments, emulator):
    pipeline_id = publish(emulator)["Id"]
    submission = {"ExperimentName": "v1-scheduled"}
    every_15 = {
        "Name": "every-15-minutes",
        "PipelineId": pipeline_id,
        "PipelineSubmissionInfo": submission,
        "ScheduleType": "0",
        "Recurrence": {"Frequency": "Minute", "Interval": 15},
    }
    on_change = {
        "Name": "on-landing",
        "PipelineId": pipeline_id,
        "PipelineSubmissionInfo": submission,
        "ScheduleType": "1",
        "DataStoreTriggerInfo": {
            "DataStoreName": "workspaceblobstore",
            "PathOnDataStore": "landing",
            "PollingInterval": 5,
            "DataPathParameterName": "input_data",
        },
    }
    created = [
        emulator.request("POST", f"{v1(emulator)}/Schedules/Create", json=body).json()["Id"]
        for body in (every_15, on_change)
    ]
    of_pipeline = {item["id"]: item for item in hook.list_v1_schedules(pipeline_id=pipeline_id)}
    assert of_pipeline[created[0]]["recurrence"] == {"frequency": "Minute", "interval": 15}
    assert of_pipeline[created[1]]["datastore"] == {
        "name": "workspaceblobstore",
        "path": "landing",
        "data_path_parameter": "input_data",
    }
    assert set(created) <= {item["id"] for item in hook.list_v1_schedules()}

    assert hook.disable_v1_schedule(created[0]) is True
    assert hook.disable_v1_schedule(created[0]) is False
    assert created[0] not in {item["id"] for item in hook.list_v1_schedules()}
    every = {item["id"]: item for item in hook.list_v1_schedules(include_disabled=True)}
    assert (every[created[0]]["status"], every[created[1]]["status"]) == ("Disabled", "Active")
