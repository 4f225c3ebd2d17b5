"""Invoking batch endpoints and following the jobs, through the real azure-ai-ml client and the real engine."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support.emulator_api import ENDPOINT, upload_inputs, wait_for_status

pytestmark = pytest.mark.integration

FINISHED = {"Completed", "Failed", "Canceled"}


@pytest.fixture(scope="module")
def input_uri(azurite) -> str:
    return upload_inputs(azurite, "inputs/digits", {f"d{i}.txt": "x" * i for i in range(1, 5)})


def _invoke(ml_client, input_uri: str, **kwargs):
    from azure.ai.ml import Input

    return ml_client.batch_endpoints.invoke(
        endpoint_name=ENDPOINT, inputs={"digits": Input(type="uri_folder", path=input_uri)}, **kwargs
    )


def test_invoke_with_overrides_runs_to_completion(ml_client, workspace, emulator, input_uri):
    name = f"job-{uuid.uuid4().hex[:8]}"
    job = _invoke(
        ml_client,
        input_uri,
        deployment_name="digits-forest",
        job_name=name,
        params_override=[{"mini_batch_size": 2}, {"output_file_name": "out.csv"}, {"error_threshold": 3}],
    )
    assert job.name == (name if emulator.honour_job_names else job.name)
    assert ml_client.jobs.get(job.name).display_name == name  # the requested name stays the display name
    name = job.name
    record = wait_for_status(emulator, name, FINISHED)
    assert record["deployment"] == "digits-forest"
    assert record["spec"]["mini_batch_size"] == 2
    assert record["spec"]["output_file_name"] == "out.csv"
    assert record["spec"]["error_threshold"] == 3
    assert record["spec"]["max_retries"] == 2  # from the flat YAML
    assert record["status"] == "Completed", record["error"]
    assert [entry["status"] for entry in record["history"]][:2] == ["Preparing", "Running"]
    fetched = ml_client.jobs.get(name)
    assert fetched.status == "Completed"
    # services.Studio: the link the provider builds for the emulator (links.studio_job_url)
    assert fetched.studio_url.startswith(emulator.url) and fetched.studio_url.endswith(f"/jobs/{name}")
    assert fetched.properties["emulator.miniBatchesTotal"] == "2"


def test_requested_name_is_the_display_name(ml_client, workspace, emulator, input_uri):
    """Azure names batch jobs itself (batchjob-<guid>): the same requested name twice is two jobs.
    With --honour-job-names the name is kept and a second request gets the first job back."""
    name = f"job-{uuid.uuid4().hex[:8]}"
    before = emulator.request("GET", "/_emulator/jobs").json()["count"]
    first = _invoke(ml_client, input_uri, job_name=name)
    second = _invoke(ml_client, input_uri, job_name=name)
    created = emulator.request("GET", "/_emulator/jobs").json()["count"] - before
    if emulator.honour_job_names:
        assert (first.name, second.name, created) == (name, name, 1)
    else:
        assert first.name != second.name and created == 2
        assert first.name.startswith("batchjob-") and second.name.startswith("batchjob-")
    for job in (first, second):
        wait_for_status(emulator, job.name, FINISHED)


def test_header_of_unknown_deployment_falls_back_to_default(emulator, workspace, input_uri):
    body = {"properties": {"inputData": {"d": {"jobInputType": "UriFolder", "uri": input_uri}}}}
    response = emulator.request(
        "POST", f"/batchEndpoints/{ENDPOINT}/jobs", json=body, headers={"azureml-model-deployment": "gone"}
    )
    assert response.status_code == 201
    name = response.json()["name"]
    assert wait_for_status(emulator, name, FINISHED)["deployment"] == "digits-logreg"


def test_list_jobs_pages_with_next_link(ml_client, workspace, emulator, input_uri):
    names = {job.name for job in ml_client.batch_endpoints.list_jobs(ENDPOINT)}
    assert len(names) >= 2
    path = emulator.connection["extra"]
    ws = (
        f"/subscriptions/{path['subscription_id']}/resourceGroups/{path['resource_group']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{path['workspace_name']}"
    )
    first = emulator.request("GET", f"/mferp/managementfrontend{ws}/batchEndpoints/{ENDPOINT}/jobs?$top=1").json()
    assert len(first["value"]) == 1 and first["nextLink"].startswith(emulator.url)
    by_deployment = ml_client.batch_deployments.list_jobs(ENDPOINT, name="digits-forest")
    assert all(job.name in names for job in by_deployment)


def test_cancel_and_stream(ml_client, workspace, emulator, input_uri):
    name = _invoke(ml_client, input_uri, job_name=f"job-{uuid.uuid4().hex[:8]}").name
    ml_client.jobs.begin_cancel(name).result()
    record = wait_for_status(emulator, name, FINISHED)
    assert record["status"] in {"Canceled", "Completed"}
    ml_client.jobs.begin_cancel(name).result()  # cancelling a finished job is accepted
    ml_client.jobs.stream(name)
    with pytest.raises(ResourceNotFoundError):
        ml_client.jobs.get("no-such-job")


def test_published_pipeline_run(emulator, workspace, azurite):
    upload_inputs(azurite, "landing/2026-01-01", {"a.txt": "a", "b.txt": "bb"})
    published = emulator.request(
        "POST",
        "/_emulator/pipelines",
        json={"endpoint": ENDPOINT, "deployment": "digits-forest", "data_path_parameter": "input_path"},
    )
    assert published.status_code == 201
    rest_endpoint = published.json()["Endpoint"]
    body = {
        "ExperimentName": "nightly",
        "ParameterAssignments": {},
        "DataPathAssignments": {
            "input_path": {"DataStoreName": "workspaceblobstore", "RelativePath": "landing/2026-01-01"}
        },
    }
    run = emulator.request("POST", rest_endpoint.removeprefix(emulator.url), json=body)
    assert run.status_code == 200, run.text
    run_id = run.json()["Id"]
    record = wait_for_status(emulator, run_id, FINISHED)
    assert record["status"] == "Completed", record["error"]
    assert record["deployment"] == "digits-forest"
    ws = rest_endpoint.removeprefix(f"{emulator.url}/pipelines/v1.0").split("/PipelineRuns/")[0]
    status = emulator.request("GET", f"/history/v1.0{ws}/experiments/nightly/runs/{run_id}")
    assert status.json()["status"] == "Completed"
