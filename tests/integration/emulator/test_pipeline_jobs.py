"""Pipeline component deployments through the real azure-ai-ml client: deploy from YAML, invoke, run the steps.

The SDK registers the local components, their code and environments itself: its code uploads go to
``https://<account>.blob.<storage suffix>``, which the emulator's storage proxy hands to Azurite, so the
module's client uses the connection's storage suffix with the proxy variables the emulator writes.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from airflow_batchml_emulator.handlers.job_specs import PIPELINE_RESTART_NOTE
from tests.support.emulator_api import COMPUTE, CONTAINER, DATA, upload_inputs, wait_for_status

pytestmark = pytest.mark.integration

ENDPOINT = "pipeline-batch"
PIPELINE = DATA / "pipeline"
DEPLOYMENT = "prepare-and-score"
FAILING = "prepare-score-and-break"
CONTINUING = "prepare-score-and-go-on"
TERMINAL = {"Completed", "Failed", "Canceled"}
FILES = {"a.txt": "1\n2\n", "b.txt": "3\n", "c.txt": "4\n5\n6\n"}


@pytest.fixture(scope="module")
def deployed(sdk_client):
    """The endpoint with the prepare-and-score deployment and the failing pipeline, both from their YAML."""
    from azure.ai.ml.entities import AmlCompute, BatchEndpoint
    from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

    sdk_client.compute.begin_create_or_update(
        AmlCompute(name=COMPUTE, size="STANDARD_DS3_V2", max_instances=2)
    ).result()
    sdk_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=ENDPOINT)).result()
    deployments = {}
    for path in (PIPELINE / "deployment.yml", PIPELINE / "failing" / "deployment.yml"):
        deployment = load_pipeline_component_batch_deployment(path)
        deployments[deployment.name] = sdk_client.batch_deployments.begin_create_or_update(deployment).result()
    going_on = load_pipeline_component_batch_deployment(PIPELINE / "failing" / "deployment.yml")
    going_on.name = CONTINUING
    going_on.settings = {**going_on.settings, "continue_on_step_failure": True}
    deployments[CONTINUING] = sdk_client.batch_deployments.begin_create_or_update(going_on).result()
    return deployments


def _inputs(azurite, **literals):
    from azure.ai.ml import Input

    prefix = f"pipeline-inputs/{uuid.uuid4().hex[:12]}"
    uri = upload_inputs(azurite, prefix, FILES)
    return {"input_data": Input(type="uri_folder", path=uri), **literals}


def _invoke(client, deployment, inputs, outputs=None, **kwargs):
    return client.batch_endpoints.invoke(
        endpoint_name=ENDPOINT, deployment_name=deployment, inputs=inputs, outputs=outputs, **kwargs
    )


def _blob_text(azurite, uri: str) -> str:
    path = uri.split("/paths/", 1)[1]
    with BlobServiceClient.from_connection_string(azurite) as service:
        return service.get_container_client(CONTAINER).download_blob(path).readall().decode()


def _workspace(emulator) -> str:
    extra = emulator.connection["extra"]
    return (
        f"/subscriptions/{extra['subscription_id']}/resourceGroups/{extra['resource_group']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{extra['workspace_name']}"
    )


def _listed_outputs(emulator, job_name) -> dict[str, str]:
    """The job's output locations in the endpoint's job list (the SDK's ``BatchJob`` drops them; the provider's
    exactly-once lookup reads them from the raw list)."""
    path = f"/mferp/managementfrontend{_workspace(emulator)}/batchEndpoints/{ENDPOINT}/jobs"
    items = emulator.request("GET", path, params={"api-version": "2020-09-01-dataplanepreview"}).json()["value"]
    item = next(item for item in items if item["name"] == job_name)
    return {name: output["uri"] for name, output in item["properties"]["outputData"].items()}


def _steps(client, job_name):
    return {child.display_name: child for child in client.jobs.list(parent_job_name=job_name)}


def _error(client, job_name) -> str:
    """The failure message as the provider reads it: run history's details of the job."""
    return client.jobs._runs_operations.get_run_details(job_name).error.error.message


def test_deployment_round_trips_its_component_and_settings(sdk_client, deployed):
    deployment = deployed[DEPLOYMENT]
    assert deployment.settings == {
        "default_compute": "batch-cluster",
        "default_datastore": "workspaceblobstore",
        "continue_on_step_failure": False,
    }
    assert "/components/azureml_anonymous/versions/" in deployment.component
    name, version = deployment.component.rsplit("/components/", 1)[1].split("/versions/")
    component = sdk_client.components.get(name, version)
    assert component.type == "pipeline"
    assert set(component.inputs) == {"input_data", "scale", "label"}
    assert set(component.outputs) == {"prepared", "scores"}


def test_two_steps_run_in_order_and_fill_both_named_outputs(sdk_client, deployed, emulator, azurite):
    from azure.ai.ml import Input, Output

    base = f"azureml://datastores/workspaceblobstore/paths/pipeline-outputs/{uuid.uuid4().hex[:12]}"
    outputs = {
        "prepared": Output(type="uri_folder", path=f"{base}/prepared/"),
        "scores": Output(type="uri_folder", path=f"{base}/scores/"),
    }
    inputs = _inputs(azurite, scale=Input(type="number", default=2.5))
    job = _invoke(sdk_client, DEPLOYMENT, inputs, outputs, experiment_name="pipeline-experiment")
    assert job.name.startswith("batchjob-") or emulator.honour_job_names
    assert wait_for_status(emulator, job.name, TERMINAL)["status"] == "Completed"

    assert _blob_text(azurite, f"{base}/prepared/a.txt") == "2.5\n5\n"
    rows = _blob_text(azurite, f"{base}/scores/scores.csv").splitlines()
    assert rows == ["file,label,score", "a.txt,scored,7.5", "b.txt,scored,7.5", "c.txt,scored,37.5"]

    steps = _steps(sdk_client, job.name)
    assert {name: step.status for name, step in steps.items()} == {"prepare": "Completed", "score": "Completed"}
    assert sdk_client.jobs.get(steps["score"].name).status == "Completed"  # a step job, read through run history
    assert sdk_client.jobs.get(job.name).experiment_name == "pipeline-experiment"
    assert _listed_outputs(emulator, job.name) == {"prepared": f"{base}/prepared/", "scores": f"{base}/scores/"}


def test_outputs_not_given_go_under_the_job_name_and_are_listed(sdk_client, deployed, emulator, azurite):
    from azure.ai.ml import Input

    job = _invoke(sdk_client, DEPLOYMENT, _inputs(azurite, scale=Input(type="integer", default=1)))
    assert wait_for_status(emulator, job.name, TERMINAL)["status"] == "Completed"
    expected = {
        name: f"azureml://datastores/workspaceblobstore/paths/azureml/{job.name}/{name}/"
        for name in ("prepared", "scores")
    }
    assert _blob_text(azurite, expected["scores"] + "scores.csv").startswith("file,label,score\n")
    assert _listed_outputs(emulator, job.name) == expected


def test_a_failing_step_fails_the_job_with_its_stderr_and_later_steps_do_not_run(
    sdk_client, deployed, emulator, azurite
):
    job = _invoke(sdk_client, FAILING, _inputs(azurite))
    assert wait_for_status(emulator, job.name, TERMINAL)["status"] == "Failed"
    message = _error(sdk_client, job.name)
    assert "Failed nodes: broken" in message
    assert "exited with status code 3" in message
    assert "ValueError: broken check refuses a.txt, b.txt, c.txt" in message
    steps = _steps(sdk_client, job.name)
    assert {name: step.status for name, step in steps.items()} == {"prepare": "Completed", "broken": "Failed"}
    assert "broken check refuses" in _error(sdk_client, steps["broken"].name)


def test_continue_on_step_failure_runs_the_independent_steps_and_still_fails(sdk_client, deployed, emulator, azurite):
    job = _invoke(sdk_client, CONTINUING, _inputs(azurite))
    assert wait_for_status(emulator, job.name, TERMINAL)["status"] == "Failed"
    steps = _steps(sdk_client, job.name)
    # after_broken reads the failed step's output, so it never starts.
    assert {name: step.status for name, step in steps.items()} == {
        "prepare": "Completed",
        "broken": "Failed",
        "score": "Completed",
    }
    scores = f"azureml://datastores/workspaceblobstore/paths/azureml/{job.name}/scores/scores.csv"
    assert _blob_text(azurite, scores).splitlines()[1:] == ["a.txt,scored,3", "b.txt,scored,3", "c.txt,scored,15"]


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("literal of the wrong type", "inputData.scale"),
        ("undeclared output", "outputData.verdict"),
        ("undeclared input", "inputData.threshold"),
        ("missing required input", "inputData.scale"),
        ("data where a literal is declared", "inputData.scale"),
    ],
)
def test_bad_invokes_are_refused_before_a_job_exists(sdk_client, deployed, emulator, azurite, case, field):
    from azure.ai.ml import Input, Output

    inputs = _inputs(azurite, scale=Input(type="number", default=2))
    outputs = None
    if case == "literal of the wrong type":
        inputs["scale"] = Input(type="string", default="two")
    elif case == "undeclared output":
        outputs = {"verdict": Output(type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/x/")}
    elif case == "undeclared input":
        inputs["threshold"] = Input(type="number", default=0.5)
    elif case == "missing required input":
        del inputs["scale"]
    else:
        inputs["scale"] = inputs["input_data"]
    before = len(list(sdk_client.batch_endpoints.list_jobs(ENDPOINT)))
    with pytest.raises(HttpResponseError) as caught:
        _invoke(sdk_client, DEPLOYMENT, inputs, outputs)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "UserError" and field in caught.value.error.message
    assert len(list(sdk_client.batch_endpoints.list_jobs(ENDPOINT))) == before


def test_a_registered_component_is_deployed_by_name_and_a_missing_one_is_refused(sdk_client, deployed):
    from azure.ai.ml import load_component
    from azure.ai.ml.entities import PipelineComponentBatchDeployment

    component = sdk_client.components.create_or_update(load_component(PIPELINE / "pipeline.yml"))
    assert (component.name, component.version) == ("prepare_and_score", "1")
    settings = {"default_compute": COMPUTE, "continue_on_step_failure": False}
    by_name = PipelineComponentBatchDeployment(
        name="by-name", endpoint_name=ENDPOINT, component="prepare_and_score@latest", settings=settings
    )
    created = sdk_client.batch_deployments.begin_create_or_update(by_name).result()
    assert created.component.endswith("/components/prepare_and_score/versions/1")
    by_name.component = "azureml:prepare_and_score:1"
    created = sdk_client.batch_deployments.begin_create_or_update(by_name).result()
    assert created.component.endswith("/components/prepare_and_score/versions/1")
    missing = PipelineComponentBatchDeployment(
        name="missing", endpoint_name=ENDPOINT, component="azureml:no_such_pipeline:1", settings=settings
    )
    with pytest.raises(HttpResponseError) as caught:
        sdk_client.batch_deployments.begin_create_or_update(missing).result()
    assert caught.value.status_code == 400 and "no_such_pipeline" in caught.value.error.message


def test_a_deployment_from_a_pipeline_job_takes_its_component(sdk_client, deployed, emulator, azurite):
    from azure.ai.ml import Input
    from azure.ai.ml.entities import PipelineComponentBatchDeployment

    first = _invoke(sdk_client, DEPLOYMENT, _inputs(azurite, scale=Input(type="number", default=3)))
    assert wait_for_status(emulator, first.name, TERMINAL)["status"] == "Completed"
    from_job = PipelineComponentBatchDeployment(
        name="from-job",
        endpoint_name=ENDPOINT,
        job_definition=f"azureml:{first.name}",
        settings={"default_compute": COMPUTE},
    )
    created = sdk_client.batch_deployments.begin_create_or_update(from_job).result()
    name, version = created.component.rsplit("/components/", 1)[1].split("/versions/")
    assert set(sdk_client.components.get(name, version).inputs) == {"input_data", "scale", "label"}
    again = _invoke(sdk_client, "from-job", _inputs(azurite, scale=Input(type="number", default=1)))
    assert wait_for_status(emulator, again.name, TERMINAL)["status"] == "Completed"
    assert set(_steps(sdk_client, again.name)) == {"prepare", "score"}


def test_a_component_from_an_unknown_job_is_refused(emulator):
    body = {"properties": {"componentSpec": {"type": "pipeline", "sourceJobId": "azureml:no-such-job", "jobs": {}}}}
    response = emulator.request(
        "PUT",
        f"{_workspace(emulator)}/components/azureml_anonymous/versions/1?api-version=2024-01-01-preview",
        json=body,
    )
    assert response.status_code == 404, response.text
    assert "no-such-job" in response.json()["error"]["message"]


def test_a_nested_pipeline_component_runs_its_inner_steps(sdk_client, deployed, emulator, azurite):
    from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

    deployment = load_pipeline_component_batch_deployment(PIPELINE / "nested" / "deployment.yml")
    sdk_client.batch_deployments.begin_create_or_update(deployment).result()
    job = _invoke(sdk_client, deployment.name, _inputs(azurite))
    assert wait_for_status(emulator, job.name, TERMINAL)["status"] == "Completed"
    steps = _steps(sdk_client, job.name)
    assert {name: step.status for name, step in steps.items()} == {
        "inner/prepare": "Completed",
        "inner/score": "Completed",
    }
    scores = _listed_outputs(emulator, job.name)["scores"]
    assert _blob_text(azurite, scores + "scores.csv").splitlines()[1:] == [
        "a.txt,scored,30",
        "b.txt,scored,30",
        "c.txt,scored,150",
    ]


def test_a_cancel_stops_the_running_step_and_both_jobs_end_canceled(sdk_client, deployed, emulator):
    import time

    from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

    deployment = load_pipeline_component_batch_deployment(PIPELINE / "slow" / "deployment.yml")
    sdk_client.batch_deployments.begin_create_or_update(deployment).result()
    job = _invoke(sdk_client, deployment.name, {})
    deadline = time.monotonic() + 30
    while "[stdout] waiting" not in emulator.job_log(next(iter(_steps(sdk_client, job.name).values()), job).name):
        assert time.monotonic() < deadline, "the slow step did not start"
        time.sleep(0.2)
    started = time.monotonic()
    sdk_client.jobs.begin_cancel(job.name, polling=False)
    assert wait_for_status(emulator, job.name, TERMINAL, timeout=30)["status"] == "Canceled"
    assert time.monotonic() - started < 30  # the step's minute-long sleep was killed
    assert {name: step.status for name, step in _steps(sdk_client, job.name).items()} == {"wait": "Canceled"}


def test_after_a_restart_the_job_resumes_without_running_completed_steps_again(sdk_client, deployed, emulator, azurite):
    import time

    from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

    deployment = load_pipeline_component_batch_deployment(PIPELINE / "restart" / "deployment.yml")
    sdk_client.batch_deployments.begin_create_or_update(deployment).result()
    job = _invoke(sdk_client, deployment.name, _inputs(azurite))
    deadline = time.monotonic() + 30
    while "linger" not in _steps(sdk_client, job.name) or "[stdout] lingering" not in emulator.job_log(
        _steps(sdk_client, job.name)["linger"].name
    ):
        assert time.monotonic() < deadline, "the lingering step did not start"
        time.sleep(0.2)

    emulator.restart()

    assert wait_for_status(emulator, job.name, TERMINAL)["status"] == "Completed"
    steps = _steps(sdk_client, job.name)
    assert {name: step.status for name, step in steps.items()} == {"prepare": "Completed", "linger": "Completed"}
    assert PIPELINE_RESTART_NOTE in emulator.job_log(job.name)
    prepare_log = emulator.job_log(steps["prepare"].name)
    assert prepare_log.count("Running: ") == 1  # not run again
    assert emulator.job_log(steps["linger"].name).count("Running: ") == 2  # started over under the same name
    copied = _listed_outputs(emulator, job.name)["copied"]
    assert _blob_text(azurite, copied + "a.txt") == "1\n2\n"
