"""A v1 published pipeline bound to a pipeline component deployment: ParameterAssignments become literal
job inputs and DataPathAssignments data inputs, checked against the component before any job exists."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

from tests.support.emulator_api import COMPUTE, CONTAINER, DATA, upload_inputs, wait_for_status

pytestmark = pytest.mark.integration

ENDPOINT = "pipeline-batch"
DEPLOYMENT = "prepare-and-score"
TERMINAL = {"Completed", "Failed", "Canceled"}


@pytest.fixture(scope="module")
def v1(emulator) -> str:
    extra = emulator.connection["extra"]
    return (
        f"/pipelines/v1.0/subscriptions/{extra['subscription_id']}/resourceGroups/{extra['resource_group']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{extra['workspace_name']}"
    )


@pytest.fixture(scope="module")
def published(sdk_client, emulator, azurite) -> dict:
    """The prepare-and-score deployment from its YAML, and a v1 pipeline published on it."""
    from azure.ai.ml.entities import AmlCompute, BatchEndpoint
    from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

    sdk_client.compute.begin_create_or_update(AmlCompute(name=COMPUTE, size="STANDARD_DS3_V2")).result()
    sdk_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=ENDPOINT)).result()
    deployment = load_pipeline_component_batch_deployment(DATA / "pipeline" / "deployment.yml")
    sdk_client.batch_deployments.begin_create_or_update(deployment).result()
    upload_inputs(azurite, "v1-pipeline/in", {"a.txt": "1\n2\n", "b.txt": "3\n"})
    response = emulator.request("POST", "/_emulator/pipelines", json={"endpoint": ENDPOINT, "deployment": DEPLOYMENT})
    assert response.status_code == 201, response.text
    return response.json()


def run_body(**parameters) -> dict:
    return {
        "ExperimentName": "v1-on-v2",
        "ParameterAssignments": parameters,
        "DataPathAssignments": {
            "input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": "v1-pipeline/in"}
        },
    }


def test_the_pipeline_has_the_components_literal_inputs_as_parameters(published):
    # scale has no default, so the entity lists only label's (as a string, the service's {str: str}).
    assert published["ParameterAssignments"] == {"label": "scored"}


def test_parameter_assignments_reach_the_steps_as_literal_inputs(published, emulator, azurite, v1):
    run = emulator.request(
        "POST", f"{v1}/PipelineRuns/PipelineSubmit/{published['Id']}", json=run_body(scale="2", label="v1")
    )
    assert run.status_code == 200, run.text
    job = wait_for_status(emulator, run.json()["Id"], TERMINAL)
    assert job["status"] == "Completed", job["error"]
    scores = f"azureml/{job['name']}/scores/scores.csv"
    with BlobServiceClient.from_connection_string(azurite) as service:
        rows = service.get_container_client(CONTAINER).download_blob(scores).readall().decode().splitlines()
    assert rows == ["file,label,score", "a.txt,v1,6", "b.txt,v1,6"]


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"scale": "2", "threshold": "1"}, "ParameterAssignments.threshold"),
        ({"scale": "two"}, "inputData.scale"),  # the component declares a number
        ({}, "inputData.scale"),  # required, no default
    ],
)
def test_assignments_the_component_cannot_take_are_refused_before_a_job(published, emulator, v1, parameters, named):
    before = len(emulator.request("GET", "/_emulator/jobs").json()["value"])
    response = emulator.request(
        "POST", f"{v1}/PipelineRuns/PipelineSubmit/{published['Id']}", json=run_body(**parameters)
    )
    assert response.status_code == 400
    assert named in response.json()["Error"]["Message"]
    assert len(emulator.request("GET", "/_emulator/jobs").json()["value"]) == before
