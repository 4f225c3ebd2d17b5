"""AmlCompute clusters: stored as sent, answered with the inner ``properties`` the SDK parses."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml.emulator import lro
from airflow_batchml.emulator.errors import BadRequest
from airflow_batchml.emulator.handlers.common import (
    JsonBody,
    arm_json,
    arm_resource,
    ctx_of,
    page,
    properties_of,
    require,
)

KIND = "computes"


def put_compute(request: Request, name: str, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    properties = properties_of(body, f"compute {name}")
    if not properties.get("computeType"):
        raise BadRequest(f"The field 'properties.computeType' is required for compute {name}.")
    inner = properties.get("properties") or {}
    stored = {
        **body,
        "location": body.get("location") or ctx.location,
        "properties": {**properties, "properties": inner, "provisioningState": "Succeeded"},
    }
    path = f"{KIND}/{name}"
    response_body = {**stored, "id": ctx.arm_id(path), "name": name}
    return lro.create_or_update(ctx, KIND, path, stored, response_body)


def get_compute(request: Request, name: str) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(arm_resource(ctx, require(ctx, KIND, f"{KIND}/{name}", "Compute"), KIND))


def list_computes(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(page([arm_resource(ctx, item, KIND) for item in ctx.store.list(KIND)]))


def delete_compute(request: Request, name: str) -> Response:
    ctx = ctx_of(request)
    return lro.deleted(ctx, ctx.store.delete(KIND, f"{KIND}/{name}"))
