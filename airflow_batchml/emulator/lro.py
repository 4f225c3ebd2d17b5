"""Long-running operations the way ARM answers them, finished by the SDK's first poll.

azure-ai-ml waits 30 s between polls unless a poll *response* carries ``Retry-After``, so every create and
delete answers ``201/202 + Azure-AsyncOperation``, does its work at once, and the operation-status route
(``Retry-After: 1``) already reports the final state. A fault rule can make the operation end ``Failed``
(say ``QuotaExceeded``), which the SDK raises from ``.result()``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml.emulator.errors import NotFound
from airflow_batchml.emulator.handlers.common import PROVIDER, EmulatorContext, arm_json, ctx_of
from airflow_batchml.emulator.state import utc_now

OPERATION_KIND = "operations"
POLL_RETRY_AFTER = "1"
SUCCEEDED = "Succeeded"
FAILED = "Failed"


def operation_url(ctx: EmulatorContext, operation_id: str) -> str:
    return (
        f"{ctx.base_url}/subscriptions/{ctx.subscription_id}/providers/{PROVIDER}"
        f"/locations/{ctx.location}/mfeOperationsStatus/{operation_id}"
    )


def _record_operation(ctx: EmulatorContext, status: str, error: dict[str, Any] | None = None) -> str:
    operation_id = uuid.uuid4().hex
    now = utc_now()
    body = {"status": status, "startTime": now, "endTime": now, **({"error": error} if error else {})}
    ctx.store.put(OPERATION_KIND, operation_id, body)
    return operation_id


def create_or_update(
    ctx: EmulatorContext, kind: str, path: str, stored: dict[str, Any], body: dict[str, Any]
) -> JSONResponse:
    """Answer a PUT: store ``stored`` at ``path`` unless a fault makes the operation fail; reply ``body``."""
    created = ctx.store.get(kind, path) is None
    fault = ctx.faults.take_lro(kind)
    if fault:
        error = {"code": fault.code, "message": fault.message}
        operation_id = _record_operation(ctx, FAILED, error)
        body = {**body, "properties": {**body.get("properties", {}), "provisioningState": "Creating"}}
    else:
        ctx.store.put(kind, path, stored)
        operation_id = _record_operation(ctx, SUCCEEDED)
    headers = {"Azure-AsyncOperation": operation_url(ctx, operation_id)}
    return arm_json(body, 201 if created else 200, headers)


def deleted(ctx: EmulatorContext, existed: bool) -> Response:
    """Answer a DELETE: 202 + operation when something was deleted, 204 when there was nothing."""
    if not existed:
        return Response(status_code=204)
    operation_id = _record_operation(ctx, SUCCEEDED)
    return Response(status_code=202, headers={"Azure-AsyncOperation": operation_url(ctx, operation_id)})


def get_operation_status(request: Request, operation_id: str) -> JSONResponse:
    """The operation-status route the SDK polls; ``Retry-After: 1`` keeps any further poll short."""
    ctx = ctx_of(request)
    operation = ctx.store.get(OPERATION_KIND, operation_id)
    if operation is None:
        raise NotFound(f"Operation {operation_id} was not found.")
    body = {"id": request.url.path, "name": operation_id, **operation.body}
    return arm_json(body, 200, {"Retry-After": POLL_RETRY_AFTER})
