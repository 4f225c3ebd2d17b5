"""Batch endpoints: create/update, get, list, delete (which takes the endpoint's deployments along).

Responses always re-supply the read-only ``scoringUri``, ``swaggerUri`` and ``provisioningState``: the SDK
round-trips an endpoint from a GET but never sends those back.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml.emulator import lro
from airflow_batchml.emulator.errors import BadRequest
from airflow_batchml.emulator.handlers.batch_settings import ENDPOINT_FIELDS, check_types
from airflow_batchml.emulator.handlers.common import (
    EmulatorContext,
    JsonBody,
    arm_json,
    arm_resource,
    ctx_of,
    page,
    properties_of,
    require,
)
from airflow_batchml.emulator.state import Resource

KIND = "batchEndpoints"
DEPLOYMENT_KIND = "deployments"
_READ_ONLY = ("scoringUri", "swaggerUri", "provisioningState")


def put_endpoint(request: Request, endpoint: str, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    properties = {k: v for k, v in properties_of(body, f"batch endpoint {endpoint}").items() if k not in _READ_ONLY}
    check_types(properties, ENDPOINT_FIELDS, "properties.")
    properties.setdefault("authMode", "AADToken")
    default = (properties.get("defaults") or {}).get("deploymentName")
    if default and ctx.store.get(DEPLOYMENT_KIND, f"{KIND}/{endpoint}/deployments/{default}") is None:
        raise BadRequest(
            f"properties.defaults.deploymentName: deployment {default} does not exist in batch endpoint {endpoint}."
        )
    stored = {**body, "location": body.get("location") or ctx.location, "properties": properties}
    path = f"{KIND}/{endpoint}"
    response_body = serialise(ctx, Resource(KIND, path, stored, "", ""))
    return lro.create_or_update(ctx, KIND, path, stored, response_body)


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
    return lro.deleted(ctx, ctx.store.delete(KIND, f"{KIND}/{endpoint}"))


def require_endpoint(ctx: EmulatorContext, endpoint: str) -> Resource:
    return require(ctx, KIND, f"{KIND}/{endpoint}", "Batch endpoint")


def default_deployment(resource: Resource) -> str | None:
    return ((resource.body.get("properties") or {}).get("defaults") or {}).get("deploymentName")


def serialise(ctx: EmulatorContext, resource: Resource) -> dict[str, Any]:
    body = arm_resource(ctx, resource, KIND)
    body["properties"] = {
        **body["properties"],
        "scoringUri": f"{ctx.base_url}/batchEndpoints/{resource.name}/jobs",
        "swaggerUri": None,
        "provisioningState": "Succeeded",
    }
    return body
