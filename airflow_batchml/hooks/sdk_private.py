"""Every use of a private azure-ai-ml API, in one place.

azure-ai-ml keeps some of what a batch client needs behind underscores: the typed deployment loaders, the
code asset entity, the REST client under an operations object, run history, the artifact download. An SDK
upgrade may move any of them; ``tests/unit/hooks/test_sdk_private.py`` has one test per function here, so
the move fails there, by name, rather than in a DAG. Nothing outside this module touches a private name of
the SDK. Every import is inside a function: DAG files import the hooks, and ``azure.ai.ml`` is heavy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def deployment_loaders() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(load_model_batch_deployment, load_pipeline_component_batch_deployment)``: azure.ai.ml exports only
    the generic ``load_batch_deployment``, which cannot tell the typed YAML forms apart."""
    from azure.ai.ml.entities._load_functions import (
        load_model_batch_deployment,
        load_pipeline_component_batch_deployment,
    )

    return load_model_batch_deployment, load_pipeline_component_batch_deployment


def schedule_loader() -> Callable[..., Any]:
    """``load_schedule``: what ``az ml schedule create --file`` reads; azure.ai.ml does not export it."""
    from azure.ai.ml.entities._load_functions import load_schedule

    return load_schedule


def register_code(client: Any, name: str, version: str, path: str) -> str:
    """Register a code asset whose files are already in a datastore (``path``), returning its id.

    ``Code`` is not exported, and ``MLClient`` reaches code operations only as ``_code``.
    """
    from azure.ai.ml.entities._assets._artifacts.code import Code

    return client._code.create_or_update(Code(name=name, version=version, path=path)).id


def code_base_path(component: Any) -> Path:
    """The folder a component's relative ``code`` is resolved against (its YAML's folder)."""
    return Path(component._get_base_path_for_code())


def validation_error(component: Any) -> tuple[str, str] | None:
    """The first error of the SDK's own local validation of a component, as ``(field path, message)``."""
    result = component._validate()
    if result.passed:
        return None
    path, message = next(iter(result.error_messages.items()))
    return path, str(message)


def rest_batch_deployment(client: Any, endpoint_name: str, deployment_name: str) -> Any:
    """The deployment as the REST client returns it: ``deploymentConfiguration.componentId`` included, which
    the ``BatchDeployment`` entity drops."""
    operations = client.batch_deployments
    return operations._batch_deployment.get(
        resource_group_name=operations._resource_group_name,
        workspace_name=operations._workspace_name,
        endpoint_name=endpoint_name,
        deployment_name=deployment_name,
        **operations._init_kwargs,
    )


def wrap_endpoint_requests(client: Any, wrapper: type) -> None:
    """Route the batch endpoint operations' own HTTP calls (the invoke POST) through ``wrapper(pipeline)``."""
    operations = client.batch_endpoints
    if not isinstance(operations._requests_pipeline, wrapper):
        operations._requests_pipeline = wrapper(operations._requests_pipeline)


def workspace_api_pages(
    client: Any, workspace_name: str, path: str, check_url: Callable[[str], None]
) -> Iterator[dict]:
    """GET ``path`` of the workspace's data-plane API page by page (``nextLink``), as the SDK's batch
    endpoint operations do: its discovered base URL, its token scopes, its HTTP pipeline.

    ``check_url`` sees every URL before a token is fetched for it.
    """
    from azure.ai.ml._azure_environments import _get_aml_resource_id_from_metadata, _resource_to_scopes
    from azure.ai.ml._utils._endpoint_utils import validate_response
    from azure.ai.ml._utils.utils import _get_mfe_base_url_from_discovery_service
    from azure.ai.ml.constants._common import AzureMLResourceType

    operations = client.batch_endpoints
    workspaces = operations._all_operations.all_operations[AzureMLResourceType.WORKSPACE]
    base = _get_mfe_base_url_from_discovery_service(workspaces, workspace_name, operations._requests_pipeline)
    url: str | None = f"{base.rstrip('/')}{path}"
    scopes = _resource_to_scopes(_get_aml_resource_id_from_metadata())
    while url:
        check_url(url)
        token = operations._credentials.get_token(*scopes).token
        response = operations._requests_pipeline.get(
            url, headers={"Accept": "application/json", "Authorization": f"Bearer {token}"}
        )
        validate_response(response)
        body = json.loads(response.text())
        yield body
        url = body.get("nextLink")


def workspace_id(workspace: Any) -> str:
    """The workspace's GUID (``properties.workspaceId``), which the ``Workspace`` entity keeps private."""
    return str(workspace._workspace_id)


def run_details(client: Any, job_name: str) -> Any:
    """A job's run history record (its error as ``az ml job show`` reads it)."""
    return client.jobs._runs_operations.get_run_details(job_name)


def download_artifact(uri: str, folder: str, client: Any) -> None:
    """Download what an ``azureml://`` URI names into ``folder``, as ``az ml job download`` does."""
    from azure.ai.ml._artifacts._artifact_utilities import download_artifact_from_aml_uri

    download_artifact_from_aml_uri(uri, folder, client.datastores)
