"""Batch deployments: the body is stored as sent, after its references were checked.

Like Azure, a deployment naming a model, code or environment version or a compute that does not exist is
refused with a 400; ``computes/azureml:x`` (what the SDK sends for an entity built in Python) is stored as
``computes/x``. The endpoint's default deployment cannot be deleted (409). ``loggingLevel`` is answered in
the service's spelling (``Info``; BatchLoggingLevel of the REST spec, example
Workspace/BatchDeployment/createOrUpdate.json) although the SDK sends ``info``. Creates and deletes are
long-running operations of the management front end (``lro.py``). A pipeline component deployment
(``deploymentConfiguration``) has its own rules: ``pipeline_deployments.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml_emulator import lro
from airflow_batchml_emulator.errors import BadRequest, Conflict, NotFound
from airflow_batchml_emulator.handlers import assets, pipeline_deployments
from airflow_batchml_emulator.handlers.batch_settings import DEPLOYMENT_FIELDS, check_types
from airflow_batchml_emulator.handlers.common import (
    EmulatorContext,
    JsonBody,
    arm_json,
    arm_resource,
    ctx_of,
    page,
    properties_of,
    workspace_path,
)
from airflow_batchml_emulator.handlers.endpoints import (
    DEPLOYMENT_KIND,
    default_deployment,
    require_endpoint,
)
from airflow_batchml_emulator.state import Resource

KIND = DEPLOYMENT_KIND
COMPUTE_KIND = "computes"
_LOGGING_LEVELS = {level.lower(): level for level in ("Info", "Warning", "Debug")}


def put_deployment(request: Request, endpoint: str, deployment: str, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    require_endpoint(ctx, endpoint)
    properties = dict(properties_of(body, f"batch deployment {deployment}"))
    properties.pop("provisioningState", None)
    check_types(properties, DEPLOYMENT_FIELDS, "properties.")
    if properties.get("deploymentConfiguration") is not None:
        pipeline_deployments.check_configuration(ctx, properties["deploymentConfiguration"])
    else:
        _check_asset_references(ctx, properties)
        properties["compute"] = _normalised_compute(ctx, properties.get("compute"))
    if isinstance(properties.get("loggingLevel"), str):
        properties["loggingLevel"] = _LOGGING_LEVELS.get(properties["loggingLevel"].lower(), properties["loggingLevel"])
    stored = {**body, "location": body.get("location") or ctx.location, "properties": properties}
    path = deployment_path(endpoint, deployment)
    return lro.create_or_update(ctx, request, KIND, path, stored, lambda item: serialise(ctx, item))


def get_deployment(request: Request, endpoint: str, deployment: str) -> JSONResponse:
    ctx = ctx_of(request)
    require_endpoint(ctx, endpoint)
    return arm_json(serialise(ctx, require_deployment(ctx, endpoint, deployment)))


def list_deployments(request: Request, endpoint: str) -> JSONResponse:
    ctx = ctx_of(request)
    require_endpoint(ctx, endpoint)
    items = ctx.store.list(KIND, f"batchEndpoints/{endpoint}/deployments/")
    return arm_json(page([serialise(ctx, item) for item in items]))


def delete_deployment(request: Request, endpoint: str, deployment: str) -> Response:
    ctx = ctx_of(request)
    parent = ctx.store.get("batchEndpoints", f"batchEndpoints/{endpoint}")
    if parent is not None and default_deployment(parent) == deployment:
        raise Conflict(
            f"Deployment {deployment} is the default deployment of batch endpoint {endpoint}; "
            "set another default before deleting it.",
            code="UserError",
        )
    return lro.deleted(ctx, request, KIND, ctx.store.delete(KIND, deployment_path(endpoint, deployment)))


def deployment_path(endpoint: str, deployment: str) -> str:
    return f"batchEndpoints/{endpoint}/deployments/{deployment}"


def require_deployment(ctx: EmulatorContext, endpoint: str, deployment: str) -> Resource:
    """The deployment, or a 404 in the front end's recorded shape (UserError, inner NotFound)."""
    resource = ctx.store.get(KIND, deployment_path(endpoint, deployment))
    if resource is None:
        raise NotFound(
            f"Deployment {deployment} does not exist in batch endpoint {endpoint} of workspace {ctx.workspace_name}.",
            inner=("NotFound",),
        )
    return resource


def serialise(ctx: EmulatorContext, resource: Resource) -> dict[str, Any]:
    body = arm_resource(ctx, resource, "batchEndpoints/deployments")
    state = lro.provisioning_state(ctx, KIND, resource.path)
    body["properties"] = {**body["properties"], "provisioningState": state}
    return body


def _check_asset_references(ctx: EmulatorContext, properties: dict[str, Any]) -> None:
    """Refuse ids of model/code/environment versions the workspace does not have (400 naming the field)."""
    references = {
        "properties.model.assetId": (properties.get("model") or {}).get("assetId"),
        "properties.codeConfiguration.codeId": (properties.get("codeConfiguration") or {}).get("codeId"),
        "properties.environmentId": properties.get("environmentId"),
    }
    for field_name, asset_id in references.items():
        if not asset_id or str(asset_id).startswith("azureml://registries/"):
            continue
        if assets.find_version(ctx, workspace_path(str(asset_id))) is None:
            raise BadRequest(f"{field_name}: asset {asset_id} does not exist.", code="UserError")


def _normalised_compute(ctx: EmulatorContext, compute: Any) -> str:
    """``.../computes/azureml:x``, ``azureml:x`` or ``x`` -> the full ARM id of compute ``x``, which must exist."""
    if not compute or not isinstance(compute, str):
        raise BadRequest("The field 'properties.compute' is required for a batch deployment.")
    name = compute.rsplit("/computes/", 1)[-1].removeprefix("azureml:").strip("/")
    if ctx.store.get(COMPUTE_KIND, f"computes/{name}") is None:
        raise BadRequest(f"properties.compute: compute {name} does not exist.", code="UserError")
    return ctx.arm_id(f"computes/{name}")
