"""The emulator's FastAPI application: the route table, the request gate and error translation.

Handlers live in ``handlers/`` (one module per resource family). In front of them a small ASGI gate
normalises ARM path casing, checks the bearer token (except where azure-ai-ml sends none: the discovery
document and signed log URLs), caps the request body and fires armed HTTP fault rules. Every error leaves
as ARM error JSON.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_batchml_emulator import lro
from airflow_batchml_emulator.errors import EmulatorError, NotFound, arm_error_body
from airflow_batchml_emulator.faults import HttpFault
from airflow_batchml_emulator.handlers import (
    admin,
    assets,
    computes,
    deployments,
    endpoints,
    jobs,
    pipeline_endpoints,
    pipeline_schedules,
    pipelines,
    runs,
    schedules,
    workspace,
)
from airflow_batchml_emulator.handlers.common import PROVIDER, EmulatorContext

log = logging.getLogger(__name__)

WS = f"/subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{PROVIDER}/workspaces/{{ws}}"
ADMIN_PREFIX = "/_emulator"
# ARM's limit for a request body; the largest body azure-ai-ml sends here (an environment with its conda
# file inline) is a few kilobytes.
MAX_BODY_BYTES = 4 * 1024 * 1024
_NO_TOKEN_PATHS = re.compile(r"/(discovery\Z|_logs/)")
_CASE_FIXES = [
    (re.compile(r"/resourcegroups/", re.IGNORECASE), "/resourceGroups/"),
    (re.compile(rf"/providers/{re.escape(PROVIDER)}/", re.IGNORECASE), f"/providers/{PROVIDER}/"),
]

Route = tuple[str, str, Callable[..., Any]]


def _asset_routes() -> list[Route]:
    routes: list[Route] = []
    for family in assets.FAMILIES:
        handler = assets.family_handlers(family)
        base = f"{WS}/{family}"
        routes += [
            ("GET", base, handler["list_containers"]),
            ("GET", f"{base}/{{name}}", handler["get_container"]),
            ("PUT", f"{base}/{{name}}", handler["put_container"]),
            ("GET", f"{base}/{{name}}/versions", handler["list_versions"]),
            ("GET", f"{base}/{{name}}/versions/{{version}}", handler["get_version"]),
            ("PUT", f"{base}/{{name}}/versions/{{version}}", handler["put_version"]),
            ("POST", f"{base}/{{name}}/versions/{{version}}/startPendingUpload", handler["start_pending_upload"]),
        ]
    return routes


def _v1_pipeline_routes() -> list[Route]:
    """The v1 pipelines service (handlers/aeva.py names the source of its routes)."""
    v1 = f"/pipelines/v1.0{WS}"
    return [
        ("GET", f"{v1}/Pipelines", pipelines.list_pipelines),
        ("GET", f"{v1}/Pipelines/{{pipeline_id}}", pipelines.get_pipeline),
        ("PUT", f"{v1}/Pipelines/{{pipeline_id}}/status", pipelines.put_pipeline_status),
        ("POST", f"{v1}/PipelineRuns/PipelineSubmit/{{pipeline_id}}", pipelines.submit_pipeline_run),
        ("POST", f"{v1}/Schedules/Create", pipeline_schedules.create_schedule),
        ("GET", f"{v1}/Schedules", pipeline_schedules.list_schedules),
        ("GET", f"{v1}/Schedules/Pipeline/{{pipeline_id}}", pipeline_schedules.list_pipeline_schedules),
        ("GET", f"{v1}/Schedules/{{schedule_id}}", pipeline_schedules.get_schedule),
        ("PUT", f"{v1}/Schedules/{{schedule_id}}", pipeline_schedules.put_schedule),
        ("POST", f"{v1}/PipelineEndpoints/Create", pipeline_endpoints.create_endpoint),
        ("GET", f"{v1}/PipelineEndpoints", pipeline_endpoints.list_endpoints),
        ("GET", f"{v1}/PipelineEndpoints/Name", pipeline_endpoints.get_endpoint_by_name),
        ("GET", f"{v1}/PipelineEndpoints/Id/{{endpoint_id}}", pipeline_endpoints.get_endpoint),
        ("PUT", f"{v1}/PipelineEndpoints/{{endpoint_id}}", pipeline_endpoints.put_endpoint),
        (
            "POST",
            f"{v1}/PipelineRuns/PipelineEndpointSubmit/Id/{{endpoint_id}}",
            pipeline_endpoints.submit_endpoint_run,
        ),
        (
            "POST",
            f"{v1}/PipelineRuns/PipelineEndpointSubmit/Id/{{endpoint_id}}/{{version}}",
            pipeline_endpoints.submit_endpoint_version_run,
        ),
    ]


ARM_ROUTES: list[Route] = [
    ("GET", WS, workspace.get_workspace),
    ("GET", f"{WS}/computes", computes.list_computes),
    ("PUT", f"{WS}/computes/{{name}}", computes.put_compute),
    ("GET", f"{WS}/computes/{{name}}", computes.get_compute),
    ("DELETE", f"{WS}/computes/{{name}}", computes.delete_compute),
    ("GET", f"{WS}/batchEndpoints", endpoints.list_endpoints),
    ("PUT", f"{WS}/batchEndpoints/{{endpoint}}", endpoints.put_endpoint),
    ("GET", f"{WS}/batchEndpoints/{{endpoint}}", endpoints.get_endpoint),
    ("DELETE", f"{WS}/batchEndpoints/{{endpoint}}", endpoints.delete_endpoint),
    ("GET", f"{WS}/batchEndpoints/{{endpoint}}/deployments", deployments.list_deployments),
    ("PUT", f"{WS}/batchEndpoints/{{endpoint}}/deployments/{{deployment}}", deployments.put_deployment),
    ("GET", f"{WS}/batchEndpoints/{{endpoint}}/deployments/{{deployment}}", deployments.get_deployment),
    ("DELETE", f"{WS}/batchEndpoints/{{endpoint}}/deployments/{{deployment}}", deployments.delete_deployment),
    *_asset_routes(),
    ("GET", f"{WS}/datastores", assets.list_datastores),
    ("GET", f"{WS}/datastores/{{name}}", assets.get_datastore),
    ("POST", f"{WS}/datastores/{{name}}/listSecrets", assets.list_datastore_secrets),
    ("GET", f"{WS}/jobs/{{name}}", jobs.get_job),
    ("POST", f"{WS}/jobs/{{name}}/cancel", jobs.cancel_job),
    ("GET", f"{WS}/schedules", schedules.list_schedules),
    ("PUT", f"{WS}/schedules/{{name}}", schedules.put_schedule),
    ("GET", f"{WS}/schedules/{{name}}", schedules.get_schedule),
    ("DELETE", f"{WS}/schedules/{{name}}", schedules.delete_schedule),
    ("GET", f"/mferp/managementfrontend{WS}/batchEndpoints/{{endpoint}}/jobs", jobs.list_endpoint_jobs),
    (
        "GET",
        f"/mferp/managementfrontend{WS}/batchEndpoints/{{endpoint}}/deployments/{{deployment}}/jobs",
        jobs.list_deployment_jobs,
    ),
    ("GET", f"/history/v1.0{WS}/runs/{{name}}/details", jobs.get_run_details),
    ("GET", f"/history/v1.0{WS}/runs/{{name}}/children", runs.list_run_children),
    ("GET", f"/history/v1.0{WS}/runs/{{name}}", runs.get_run),
    ("GET", f"/history/v1.0{WS}/experiments/{{experiment}}/runs/{{run_id}}", pipelines.get_experiment_run),
    *_v1_pipeline_routes(),
]

OPEN_ROUTES: list[Route] = [
    *lro.ROUTES,
    ("GET", "/discovery", workspace.get_discovery),
    ("POST", "/batchEndpoints/{endpoint}/jobs", jobs.post_scoring),
    ("GET", "/_logs/{name}/std_log.txt", jobs.download_log),
    ("GET", f"{ADMIN_PREFIX}/health", admin.health),
    ("POST", f"{ADMIN_PREFIX}/faults", admin.add_fault),
    ("GET", f"{ADMIN_PREFIX}/faults", admin.list_faults),
    ("DELETE", f"{ADMIN_PREFIX}/faults", admin.clear_faults),
    ("GET", f"{ADMIN_PREFIX}/jobs", admin.list_all_jobs),
    ("POST", f"{ADMIN_PREFIX}/pipelines", pipelines.publish_pipeline),
]


def check_workspace(request: Request) -> None:
    """Only the emulator's one workspace exists; any other subscription/group/workspace is a 404."""
    ctx: EmulatorContext = request.app.state.ctx
    params = request.path_params
    expected = (ctx.subscription_id, ctx.resource_group, ctx.workspace_name)
    if tuple(str(params.get(key, "")).lower() for key in ("sub", "rg", "ws")) != tuple(
        value.lower() for value in expected
    ):
        raise NotFound(f"Workspace {params.get('ws')} was not found in resource group {params.get('rg')}.")


def create_app(ctx: EmulatorContext) -> FastAPI:
    app = FastAPI(title="airflow-batchml Azure ML emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    arm = APIRouter(dependencies=[Depends(check_workspace)])
    for method, path, handler in ARM_ROUTES:
        arm.add_api_route(path, handler, methods=[method])
    app.include_router(arm)
    for method, path, handler in OPEN_ROUTES:
        app.add_api_route(path, handler, methods=[method])
    _add_error_handlers(app)
    app.add_middleware(RequestGate)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EmulatorError)
    def domain_error(request: Request, err: EmulatorError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'] if part != 'body') or 'body'}: {item['msg']}"
            for item in err.errors()
        )
        return JSONResponse(arm_error_body("BadRequest", f"Invalid request: {problems}"), status_code=400)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, err: HTTPException) -> JSONResponse:
        code = "ResourceNotFound" if err.status_code == 404 else "BadRequest"
        message = f"{request.method} {request.url.path}: {err.detail}"
        return JSONResponse(arm_error_body(code, message), status_code=err.status_code)

    @app.exception_handler(Exception)
    def unexpected_error(request: Request, err: Exception) -> JSONResponse:
        log.error("Unexpected error on %s %s: %r", request.method, request.url.path, err)
        body = arm_error_body("InternalServerError", "The emulator failed to handle the request.")
        return JSONResponse(body, status_code=500)


class RequestGate:
    """ASGI middleware: canonical ARM path casing, bearer-token check, body cap, injected HTTP faults."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        for pattern, replacement in _CASE_FIXES:
            path = pattern.sub(replacement, path)
        scope = {**scope, "path": path, "raw_path": path.encode()}
        ctx: EmulatorContext = scope["app"].state.ctx  # Starlette puts the app in the scope first
        if not _NO_TOKEN_PATHS.match(path) and not _token_ok(scope, ctx.token):
            body = arm_error_body("AuthenticationFailed", "A valid 'Authorization: Bearer' token is required.")
            await JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        messages = await _capped_body(scope, receive)
        if messages is None:
            message = f"The request body exceeds the limit of {MAX_BODY_BYTES} bytes."
            await JSONResponse(arm_error_body("RequestBodyTooLarge", message), 413)(scope, receive, send)
            return
        receive = _replay(messages, receive)
        fault = None if path.startswith(ADMIN_PREFIX) else ctx.faults.take_http(scope["method"], path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.after:
            await self.app(scope, receive, _discard)  # the request takes effect; its answer is lost
        await _fault_response(scope, fault)(scope, receive, send)


async def _capped_body(scope: Scope, receive: Receive) -> list[Message] | None:
    """The request's body messages, or None as soon as the body exceeds ``MAX_BODY_BYTES``.

    A declared ``Content-Length`` over the cap is refused before any byte is read, and a chunked body
    is read no further than the cap, so an oversized request never lands in memory.
    """
    declared = dict(scope.get("headers") or []).get(b"content-length", b"")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    messages: list[Message] = []
    size = 0
    more = True
    while more:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            return None
        more = message["type"] == "http.request" and message.get("more_body", False)
    return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out the buffered body first, then whatever the client sends next."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _fault_response(scope: Scope, fault: HttpFault) -> JSONResponse:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    message = f"Injected fault: {fault.status} for {scope['method']} {scope['path']}."
    return JSONResponse(arm_error_body(fault.error_code(), message), fault.status, headers=headers)


async def _discard(message: dict) -> None:
    """An ASGI ``send`` that drops the response (for faults that strike after the request took effect)."""


def _token_ok(scope: Scope, token: str) -> bool:
    """A non-empty bearer value equal to the token; an empty token (never configured) admits no one."""
    headers = dict(scope.get("headers") or [])
    given = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, value = given.partition(" ")
    value = value.strip()
    return scheme.lower() == "bearer" and bool(value and token) and hmac.compare_digest(value.encode(), token.encode())
