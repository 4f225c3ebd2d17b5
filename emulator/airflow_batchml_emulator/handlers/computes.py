"""AmlCompute clusters: stored as sent, answered with the inner ``properties`` the SDK parses.

Creates, updates and deletes are long-running operations of the compute family (``lro.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml_emulator import lro
from airflow_batchml_emulator.errors import BadRequest
from airflow_batchml_emulator.handlers.common import (
    EmulatorContext,
    JsonBody,
    arm_json,
    arm_resource,
    ctx_of,
    page,
    properties_of,
    require,
)
from airflow_batchml_emulator.state import Resource

KIND = "computes"


def put_compute(request: Request, name: str, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    properties = properties_of(body, f"compute {name}")
    if not properties.get("computeType"):
        raise BadRequest(f"The field 'properties.computeType' is required for compute {name}.")
    inner = properties.get("properties") or {}
    properties = {key: value for key, value in properties.items() if key != "provisioningState"}
    stored = {
        **body,
        "location": body.get("location") or ctx.location,
        "properties": {**properties, "properties": inner},
    }
    return lro.create_or_update(ctx, request, KIND, f"{KIND}/{name}", stored, lambda item: serialise(ctx, item))


def get_compute(request: Request, name: str) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(serialise(ctx, require(ctx, KIND, f"{KIND}/{name}", "Compute")))


def list_computes(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(page([serialise(ctx, item) for item in ctx.store.list(KIND)]))


def delete_compute(request: Request, name: str) -> Response:
    ctx = ctx_of(request)
    return lro.deleted(ctx, request, KIND, ctx.store.delete(KIND, f"{KIND}/{name}"))


def serialise(ctx: EmulatorContext, resource: Resource) -> dict[str, Any]:
    body = arm_resource(ctx, resource, KIND)
    state = lro.provisioning_state(ctx, KIND, resource.path)
    body["properties"] = {**body["properties"], "provisioningState": state}
    return body
