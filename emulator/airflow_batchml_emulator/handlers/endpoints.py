"""Batch endpoints: create/update, get, list, delete (which takes the endpoint's deployments along).

Responses always re-supply the read-only ``scoringUri``, ``swaggerUri`` and ``provisioningState``: the SDK
round-trips an endpoint from a GET but never sends those back. As recorded
(batch_services/e2etests/test_batch_endpoint.pyTestBatchEndpointtest_batch_endpoint_create.json in
Azure/azure-sdk-assets): ``authMode`` is answered ``AADToken`` whatever case was sent (the SDK sends
``aadToken``), ``defaults`` is always there (``{"deploymentName": null}`` without a default, which the
documented ``endpoint.defaults.deployment_name = ...`` relies on), and ``scoringUri`` is null while the
endpoint is being created.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml_emulator import lro
from airflow_batchml_emulator.errors import BadRequest, NotFound
from airflow_batchml_emulator.handlers.batch_settings import ENDPOINT_FIELDS, check_types
from airflow_batchml_emulator.handlers.common import (
    EmulatorContext,
    JsonBody,
    arm_json,
    arm_resource,
    ctx_of,
    page,
    properties_of,
)
from airflow_batchml_emulator.state import Resource

KIND = "batchEndpoints"
DEPLOYMENT_KIND = "deployments"
_READ_ONLY = ("scoringUri", "swaggerUri", "provisioningState")
# EndpointAuthMode of the REST spec (Microsoft.MachineLearningServices), in the service's spelling.
_AUTH_MODES = {mode.lower(): mode for mode in ("AADToken", "AMLToken", "Key")}


def put_endpoint(request: Request, endpoint: str, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    properties = {k: v for k, v in properties_of(body, f"batch endpoint {endpoint}").items() if k not in _READ_ONLY}
    check_types(properties, ENDPOINT_FIELDS, "properties.")
    mode = properties.get("authMode") or "AADToken"
    properties["authMode"] = _AUTH_MODES.get(str(mode).lower(), mode)
    default = (properties.get("defaults") or {}).get("deploymentName")
    if default and ctx.store.get(DEPLOYMENT_KIND, f"{KIND}/{endpoint}/deployments/{default}") is None:
        raise BadRequest(
            f"properties.defaults.deploymentName: deployment {default} does not exist in batch endpoint {endpoint}."
        )
    stored = {**body, "location": body.get("location") or ctx.location, "properties": properties}
    return lro.create_or_update(ctx, request, KIND, f"{KIND}/{endpoint}", stored, lambda item: serialise(ctx, item))


def get_endpoint(request: Request, endpoint: str) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(serialise(ctx, require_endpoint(ctx, endpoint)))


def list_endpoints(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(page([serialise(ctx, item) for item in ctx.store.list(KIND)]))


def delete_endpoint(request: Request, endpoint: str) -> Response:
    ctx = ctx_of(request)
    for deployment in ctx.store.list(DEPLOYMENT_KIND, f"{KIND}/{endpoint}/deployments/"):
        ctx.store.delete(DEPLOYMENT_KIND, deployment.path)
    return lro.deleted(ctx, request, KIND, ctx.store.delete(KIND, f"{KIND}/{endpoint}"))


def require_endpoint(ctx: EmulatorContext, endpoint: str) -> Resource:
    """The endpoint, or the 404 recorded for a missing one (UserError, inner NotFound/EndpointNotFound)."""
    resource = ctx.store.get(KIND, f"{KIND}/{endpoint}")
    if resource is None:
        raise NotFound(
            f"An endpoint with the name '{endpoint}' does not exist in the workspace '{ctx.workspace_name}'.",
            inner=("NotFound", "EndpointNotFound"),
        )
    return resource


def default_deployment(resource: Resource) -> str | None:
    return ((resource.body.get("properties") or {}).get("defaults") or {}).get("deploymentName")


def serialise(ctx: EmulatorContext, resource: Resource) -> dict[str, Any]:
    body = arm_resource(ctx, resource, KIND)
    state = lro.provisioning_state(ctx, KIND, resource.path)
    body["properties"] = {
        **body["properties"],
        "defaults": {"deploymentName": default_deployment(resource)},
        "scoringUri": None if state == lro.CREATING else f"{ctx.base_url}/batchEndpoints/{resource.name}/jobs",
        "swaggerUri": None,
        "provisioningState": state,
    }
    return body
