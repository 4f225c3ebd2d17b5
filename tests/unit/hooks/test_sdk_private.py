"""One test per function of ``hooks/sdk_private.py``: each fails, naming the private API, when an
azure-ai-ml upgrade moves or reshapes it.

Offline: a real ``MLClient`` is built with a stand-in credential (building one calls nothing). Where the
private API is reached only by a network call (``jobs._runs_operations`` discovers the workspace first),
its class and signature are checked instead; the integration tests run every function against the
emulator.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

from airflow_batchml.hooks import sdk_private

DATA = Path(__file__).resolve().parents[2] / "integration" / "data"


class _Credential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("not-a-token", 2**31)


@pytest.fixture(scope="module")
def client():
    from azure.ai.ml import MLClient

    return MLClient(_Credential(), "00000000-0000-0000-0000-000000000000", "rg", "ws")


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_deployment_loaders_load_each_typed_form():
    from azure.ai.ml.entities import ModelBatchDeployment, PipelineComponentBatchDeployment

    load_model, load_pipeline = sdk_private.deployment_loaders()
    assert isinstance(load_model(DATA / "deployment.yml"), ModelBatchDeployment)
    assert isinstance(load_pipeline(DATA / "pipeline" / "deployment.yml"), PipelineComponentBatchDeployment)


def test_schedule_loader_loads_a_schedule_yaml(tmp_path):
    from azure.ai.ml.entities import JobSchedule

    path = tmp_path / "schedule.yml"
    path.write_text("name: nightly\ntrigger:\n  type: cron\n  expression: '0 2 * * *'\ncreate_job: azureml:job1\n")
    schedule = sdk_private.schedule_loader()(path)
    assert isinstance(schedule, JobSchedule)
    # the SDK's loader keeps the job's name, without the azureml: prefix of the YAML
    assert (schedule.name, schedule.trigger.expression, schedule.create_job) == ("nightly", "0 2 * * *", "job1")


def test_register_code_builds_a_code_entity_for_the_clients_code_operations(client):
    from azure.ai.ml.entities._assets._artifacts.code import Code

    code = Code(name="code-x", version="1", path="azureml://datastores/workspaceblobstore/paths/code/x/")
    assert (code.name, code.version, code.path) == (
        "code-x",
        "1",
        "azureml://datastores/workspaceblobstore/paths/code/x/",
    )
    assert _parameters(client._code.create_or_update)[0] == "code"


def test_code_base_path_is_the_component_yaml_folder():
    from azure.ai.ml import load_component

    component = load_component(DATA / "pipeline" / "prepare" / "component.yml")
    assert sdk_private.code_base_path(component).resolve() == (DATA / "pipeline" / "prepare").resolve()


def test_validation_error_passes_a_good_component_and_names_the_field_of_a_bad_one():
    from azure.ai.ml import load_component

    assert sdk_private.validation_error(load_component(DATA / "pipeline" / "pipeline.yml")) is None
    component = load_component(DATA / "pipeline" / "prepare" / "component.yml")
    component.command = "python prepare.py --input ${{inputs.undeclared}}"
    assert sdk_private.validation_error(component) == ("command", "Invalid data binding expression: inputs.undeclared")


def test_rest_batch_deployment_reaches_the_rest_get(client):
    operations = client.batch_deployments
    assert isinstance(operations._init_kwargs, dict)
    assert (operations._resource_group_name, operations._workspace_name) == ("rg", "ws")
    assert _parameters(operations._batch_deployment.get)[:4] == [
        "resource_group_name",
        "workspace_name",
        "endpoint_name",
        "deployment_name",
    ]


def test_wrap_endpoint_requests_wraps_once(client):
    class Wrapper:
        def __init__(self, pipeline):
            self.inner = pipeline

    original = client.batch_endpoints._requests_pipeline
    sdk_private.wrap_endpoint_requests(client, Wrapper)
    sdk_private.wrap_endpoint_requests(client, Wrapper)
    assert client.batch_endpoints._requests_pipeline.inner is original
    client.batch_endpoints._requests_pipeline = original


def test_workspace_api_pages_finds_what_it_calls(client):
    from azure.ai.ml._azure_environments import _get_aml_resource_id_from_metadata, _resource_to_scopes
    from azure.ai.ml._utils._endpoint_utils import validate_response
    from azure.ai.ml._utils.utils import _get_mfe_base_url_from_discovery_service
    from azure.ai.ml.constants._common import AzureMLResourceType

    operations = client.batch_endpoints
    assert operations._all_operations.all_operations[AzureMLResourceType.WORKSPACE] is not None
    assert operations._credentials.get_token("scope").token == "not-a-token"
    assert callable(operations._requests_pipeline.get)
    assert _resource_to_scopes(_get_aml_resource_id_from_metadata())
    assert len(_parameters(_get_mfe_base_url_from_discovery_service)) == 3
    assert _parameters(validate_response) == ["response"]


def test_workspace_id_reads_the_workspace_guid():
    from azure.ai.ml.entities import Workspace

    assert sdk_private.workspace_id(Workspace(name="ws", workspace_id="1f2e")) == "1f2e"


def test_run_details_is_a_run_history_call(client):
    from azure.ai.ml.operations._run_operations import RunOperations

    assert isinstance(inspect.getattr_static(type(client.jobs), "_runs_operations"), property)
    assert _parameters(RunOperations.get_run_details) == ["self", "run_id"]


def test_download_artifact_takes_uri_folder_and_datastore_operations(client):
    from azure.ai.ml._artifacts._artifact_utilities import download_artifact_from_aml_uri

    assert _parameters(download_artifact_from_aml_uri)[:3] == ["uri", "destination", "datastore_operation"]
    assert callable(client.datastores.get)
