"""Long-running operations the way Azure ML answers them: they run for a while, and clients poll them.

What the wire shows, per resource family (``tests/contract/azure_ml_recordings.json`` names the recordings):

* batch endpoints, deployments and schedules (the management front end): a PUT answers 201 with
  ``provisioningState`` Creating, ``Azure-AsyncOperation`` (an ``mfeOperationsStatus`` URL), ``Location``
  (the resource URL) and ``x-ms-async-operation-timeout: PT30M``; a DELETE answers 202 with
  ``Azure-AsyncOperation``, ``Location`` (an ``mfeOperationResults`` URL), the same timeout and the body
  ``null``. Endpoint operations poll ``Updating``, schedule creates ``Creating`` and schedule deletes
  ``Deleting``, then ``Succeeded``; a re-PUT of a schedule answers 201 again.
* computes: PUT 201 and DELETE 202 with only ``Azure-AsyncOperation`` (a ``computeOperationsStatus`` URL),
  the delete without a body; polls answer ``InProgress``, then ``Succeeded`` with ``percentComplete``; a
  re-PUT answers 201 with ``provisioningState`` Creating again.
* job cancels (a POST): 202 with only ``Location`` (an ``mfeOperationResults`` URL) and
  ``x-ms-async-operation-timeout: PT1H``, body ``null``; the Location answers 202 ``{}`` and then 200.
* no answer carries ``Retry-After``: azure-ai-ml then waits its own interval between polls (the client's
  ``polling_interval`` for creates, a fixed 5 s for deletes and schedules).

Every operation reports its running status for ``ctx.lro_seconds`` (a server option, more than zero so that
clients really poll), then ``Succeeded``; a fault rule makes it end ``Failed`` (say ``QuotaExceeded``),
which the SDK raises from ``.result()``. The resource itself shows the matching ``provisioningState``.
Times are wall-clock seconds kept in the store, so an operation outlives a restart.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml_emulator.errors import NotFound, arm_error_body
from airflow_batchml_emulator.handlers.common import PROVIDER, EmulatorContext, arm_json, ctx_of
from airflow_batchml_emulator.state import Resource, utc_now

OPERATION_KIND = "operations"
PROVISIONING_KIND = "provisioning"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CREATING = "Creating"
TIMEOUT_HEADER = "x-ms-async-operation-timeout"
STATUS_ROUTE = "mfeOperationsStatus"
COMPUTE_STATUS_ROUTE = "computeOperationsStatus"
RESULTS_ROUTE = "mfeOperationResults"


@dataclass(frozen=True)
class Family:
    """How the operations of one resource family look on the wire (recorded, see the module docstring)."""

    status_route: str
    put_running: str
    delete_running: str
    update_state: str  # provisioningState of a re-PUT of an existing resource
    update_status: int  # HTTP status of that re-PUT
    front_end: bool  # Location and the timeout header on PUT/DELETE, body null on DELETE
    final_times: bool = False  # startTime/endTime in the final poll answer
    percent_complete: bool = False  # percentComplete in the final poll answer


# Endpoint updates are not recorded: ARM's convention (200, Updating) stands in for them.
_FRONT_END = Family(STATUS_ROUTE, "Updating", "Updating", "Updating", 200, front_end=True)
FAMILIES = {
    "batchEndpoints": _FRONT_END,
    "deployments": _FRONT_END,
    "schedules": Family(STATUS_ROUTE, CREATING, "Deleting", CREATING, 201, front_end=True, final_times=True),
    "computes": Family(COMPUTE_STATUS_ROUTE, "InProgress", "InProgress", CREATING, 201, False, percent_complete=True),
}


def create_or_update(
    ctx: EmulatorContext,
    request: Request,
    kind: str,
    path: str,
    stored: dict[str, Any],
    render: Callable[[Resource], dict[str, Any]],
) -> JSONResponse:
    """Answer a PUT: store ``stored`` at ``path`` (unless a fault makes the operation fail), start the
    operation, and reply with ``render`` of the resource, whose provisioningState the operation drives."""
    family = FAMILIES[kind]
    existing = ctx.store.get(kind, path)
    fault = ctx.faults.take_lro(kind)
    error = {"code": fault.code, "message": fault.message} if fault else None
    operation_id, ends = _start(ctx, kind, family.put_running, error)
    state = CREATING if existing is None else family.update_state
    provisioning = {"state": state, "ends": ends, "final": FAILED if fault else SUCCEEDED}
    ctx.store.put(PROVISIONING_KIND, f"{kind}/{path}", provisioning)
    resource = Resource(kind, path, stored, "", "") if fault else ctx.store.put(kind, path, stored)[0]
    headers = {"Azure-AsyncOperation": operation_url(ctx, family.status_route, operation_id, request)}
    if family.front_end:
        query = f"?{request.url.query}" if request.url.query else ""
        headers |= {"Location": f"{ctx.base_url}{request.url.path}{query}", TIMEOUT_HEADER: "PT30M"}
    status = 201 if existing is None else family.update_status
    return arm_json(render(resource), status, headers)


def deleted(
    ctx: EmulatorContext, request: Request, kind: str, existed: bool, refusal: dict[str, Any] | None = None
) -> Response:
    """Answer a DELETE: 202 and a running operation when something was deleted; 204 when there was
    nothing (ARM's rule for deleting a missing resource). A ``refusal`` (``{code, message}``) is a delete
    the service accepts and then fails: its operation answers ``Failed`` with it from the first poll on,
    as recorded."""
    if not existed:
        return Response(status_code=204)
    family = FAMILIES[kind]
    operation_id, _ = _start(ctx, kind, family.delete_running, refusal, seconds=0.0 if refusal else None)
    headers = {"Azure-AsyncOperation": operation_url(ctx, family.status_route, operation_id, request)}
    if not family.front_end:
        return Response(status_code=202, headers=headers)
    headers |= {"Location": operation_url(ctx, RESULTS_ROUTE, operation_id, request), TIMEOUT_HEADER: "PT30M"}
    return Response(b"null", status_code=202, headers=headers, media_type="application/json")


def accepted(ctx: EmulatorContext, request: Request, kind: str) -> Response:
    """Answer an action POST (a job cancel) with a running operation: 202, its ``mfeOperationResults``
    ``Location`` and the recorded one-hour timeout, body ``null``."""
    operation_id, _ = _start(ctx, kind, "Running")
    headers = {"Location": operation_url(ctx, RESULTS_ROUTE, operation_id, request), TIMEOUT_HEADER: "PT1H"}
    return Response(b"null", status_code=202, headers=headers, media_type="application/json")


def provisioning_state(ctx: EmulatorContext, kind: str, path: str) -> str:
    """The provisioningState of a stored resource: Creating/Updating while its operation runs."""
    record = ctx.store.get(PROVISIONING_KIND, f"{kind}/{path}")
    if record is None:
        return SUCCEEDED
    return record.body["state"] if time.time() < record.body["ends"] else record.body["final"]


def operation_url(ctx: EmulatorContext, route: str, operation_id: str, request: Request) -> str:
    """An operation URL in the location's namespace, with the request's api-version as recorded."""
    version = request.query_params.get("api-version")
    query = f"?api-version={version}" if version else ""
    return (
        f"{ctx.base_url}/subscriptions/{ctx.subscription_id}/providers/{PROVIDER}"
        f"/locations/{ctx.location}/{route}/{operation_id}{query}"
    )


def _start(
    ctx: EmulatorContext, kind: str, running: str, error: dict[str, Any] | None = None, seconds: float | None = None
) -> tuple[str, float]:
    """Record a running operation (for ``seconds``, by default ``ctx.lro_seconds``); returns its id and the
    time it ends."""
    operation_id = uuid.uuid4().hex
    now = time.time()
    body = {
        "kind": kind,
        "running": running,
        "final": FAILED if error else SUCCEEDED,
        "error": error,
        "started": now,
        "ends": now + (ctx.lro_seconds if seconds is None else seconds),
        "startTime": utc_now(),
    }
    ctx.store.put(OPERATION_KIND, operation_id, body)
    return operation_id, body["ends"]


def _operation(ctx: EmulatorContext, operation_id: str) -> tuple[dict[str, Any], bool]:
    """The stored operation and whether it has finished."""
    operation = ctx.store.get(OPERATION_KIND, operation_id)
    if operation is None:
        raise NotFound(f"Operation {operation_id} was not found.")
    return operation.body, time.time() >= operation.body["ends"]


def get_operation_status(request: Request, operation_id: str) -> JSONResponse:
    """``mfeOperationsStatus``: ``{id, name, status}`` (and the error once Failed); no Retry-After."""
    operation, done = _operation(ctx_of(request), operation_id)
    body: dict[str, Any] = {"id": request.url.path, "name": operation_id, "status": operation["running"]}
    if done:
        body["status"] = operation["final"]
        family = FAMILIES.get(operation["kind"])  # an action's operation (a cancel) has no family
        if family is not None and family.final_times:
            body |= {"startTime": operation["startTime"], "endTime": utc_now()}
        if operation["error"]:
            body["error"] = operation["error"]
    return arm_json(body)


def get_compute_operation_status(request: Request, operation_id: str) -> JSONResponse:
    """``computeOperationsStatus``: only ``status`` (``percentComplete`` once Succeeded, the error if Failed)."""
    operation, done = _operation(ctx_of(request), operation_id)
    if not done:
        return arm_json({"status": operation["running"]})
    if operation["error"]:
        return arm_json({"status": FAILED, "error": operation["error"]})
    return arm_json({"status": SUCCEEDED, "percentComplete": 100.0})


def get_operation_result(request: Request, operation_id: str) -> Response:
    """``mfeOperationResults`` (a DELETE's ``Location``), per ARM's asynchronous-operation rules: 202 while
    the operation runs, 200 once it succeeded, the error with a 400 if it failed."""
    operation, done = _operation(ctx_of(request), operation_id)
    if not done:
        return arm_json({}, 202)
    if operation["error"]:
        error = operation["error"]
        return arm_json(arm_error_body(error["code"], error["message"]), 400)
    return Response(status_code=200)


ROUTES = [
    ("GET", f"/subscriptions/{{sub}}/providers/{PROVIDER}/locations/{{location}}/{route}/{{operation_id}}", handler)
    for route, handler in (
        (STATUS_ROUTE, get_operation_status),
        (COMPUTE_STATUS_ROUTE, get_compute_operation_status),
        (RESULTS_ROUTE, get_operation_result),
    )
]
