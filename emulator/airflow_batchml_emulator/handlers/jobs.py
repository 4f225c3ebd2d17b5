"""Batch scoring jobs: the scoring POST, jobs GET and cancel, job lists, run history and log files.

As recorded (``tests/contract/azure_ml_recordings.json``): the scoring POST files the job under its
deployment and answers it ``Preparing``; the jobs GET shows a ``Pipeline`` job with ``inputs``, ``outputs``,
``jobs`` and ``settings`` null (the default output location belongs to the child scoring step, not the
parent job) and ``services`` Studio and Tracking; a cancel is a long-running operation. The request, its
output included, stays on the endpoint's job list items. The emulator's progress is in
``properties.properties``. Run history gives ``jobs.stream`` the status and a signed log URL, since the SDK
downloads logs without a token.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from airflow_batchml_emulator import lro
from airflow_batchml_emulator.errors import BadRequest, NotFound, Unauthorized
from airflow_batchml_emulator.handlers import job_specs
from airflow_batchml_emulator.handlers.common import EmulatorContext, JsonBody, arm_json, ctx_of, page
from airflow_batchml_emulator.handlers.deployments import deployment_path, require_deployment
from airflow_batchml_emulator.handlers.endpoints import default_deployment, require_endpoint
from airflow_batchml_emulator.state import JobRecord, JobStatus

KIND = "jobs"
PAGE_SIZE = 50
DEPLOYMENT_HEADER = "azureml-model-deployment"
LOG_NAME = "user_logs/std_log.txt"
JOB_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"


def post_scoring(request: Request, endpoint: str, body: JsonBody = None) -> JSONResponse:
    """Invoke: route to the deployment the header names if it exists (trap T4), else the default."""
    ctx = ctx_of(request)
    endpoint_resource = require_endpoint(ctx, endpoint)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise BadRequest("The field 'properties' is required in a batch scoring request.")
    asked = request.headers.get(DEPLOYMENT_HEADER)
    if asked and ctx.store.get("deployments", deployment_path(endpoint, asked)) is None:
        asked = None if default_deployment(endpoint_resource) else asked
    name = asked or default_deployment(endpoint_resource)
    if not name:
        raise BadRequest(
            f"Batch endpoint {endpoint} has no default deployment; set defaults.deploymentName "
            f"or send the {DEPLOYMENT_HEADER} header.",
            code="UserError",
        )
    deployment = require_deployment(ctx, endpoint, name)
    job, created = job_specs.create_job(ctx, endpoint, deployment, body["properties"])
    return arm_json(batch_job_body(ctx, job), 201 if created else 200)


def get_job(request: Request, name: str) -> JSONResponse:
    """A job; a pipeline step's job answers with ``properties: null``, which sends azure-ai-ml to run history
    (its ``jobs.get``: "child jobs are no longer available through MFE")."""
    ctx = ctx_of(request)
    job = require_job(ctx, name)
    if job.parent:
        return arm_json({"id": ctx.arm_id(f"jobs/{name}"), "name": name, "type": JOB_TYPE, "properties": None})
    return arm_json(pipeline_job_body(ctx, job))


def cancel_job(request: Request, name: str) -> Response:
    """A long-running operation (202, ``lro.accepted``) while the engine stops the job.

    The cancel of a finished job is not recorded; it is accepted the same way and changes nothing.
    """
    ctx = ctx_of(request)
    job = require_job(ctx, name)
    if job.status not in JobStatus.TERMINAL_STATUSES:
        ctx.store.set_status(name, JobStatus.CANCEL_REQUESTED)
        ctx.engine.cancel(name)
    return lro.accepted(ctx, request, KIND)


def list_endpoint_jobs(request: Request, endpoint: str) -> JSONResponse:
    ctx = ctx_of(request)
    require_endpoint(ctx, endpoint)
    return _job_page(request, ctx.store.list_jobs(endpoint=endpoint))


def list_deployment_jobs(request: Request, endpoint: str, deployment: str) -> JSONResponse:
    ctx = ctx_of(request)
    require_endpoint(ctx, endpoint)
    return _job_page(request, ctx.store.list_jobs(endpoint=endpoint, deployment=deployment))


def get_run_details(request: Request, name: str) -> JSONResponse:
    """Run history details: what ``jobs.stream`` polls for status, error and ``logFiles``."""
    ctx = ctx_of(request)
    job = require_job(ctx, name)
    log_url = f"{ctx.base_url}/_logs/{name}/std_log.txt?{urlencode({'sig': ctx.sign(name)})}"
    return arm_json({**run_summary(job), "logFiles": {LOG_NAME: log_url}})


def download_log(request: Request, name: str) -> PlainTextResponse:
    """A job's log text; no token is sent here, so the URL carries an HMAC signature instead."""
    ctx = ctx_of(request)
    if not hmac.compare_digest(request.query_params.get("sig", "").encode(), ctx.sign(name).encode()):
        raise Unauthorized("The log URL signature is missing or invalid.")
    require_job(ctx, name)
    return PlainTextResponse(ctx.store.read_log(name))


def require_job(ctx: EmulatorContext, name: str) -> JobRecord:
    job = ctx.store.get_job(name)
    if job is None:
        raise NotFound(f"Job {name} was not found in workspace {ctx.workspace_name}.")
    return job


def run_summary(job: JobRecord) -> dict[str, Any]:
    """The run-history view of a job (status, times, error)."""
    times = {entry["status"]: entry["time"] for entry in job.history}
    body: dict[str, Any] = {
        "runId": job.name,
        "status": job.status,
        "experimentName": job.experiment,
        "createdUtc": job.created_at,
        "startTimeUtc": times.get(JobStatus.RUNNING),
        "endTimeUtc": next((times[s] for s in JobStatus.TERMINAL_STATUSES if s in times), None),
        "runType": "azureml.StepRun" if job.parent else "azureml.PipelineRun",
    }
    if job.error:
        body["error"] = {"error": job.error}
    return body


def batch_job_body(ctx: EmulatorContext, job: JobRecord) -> dict[str, Any]:
    """The scoring POST / list item shape: the request echoed, with status and progress.

    A pipeline job's ``outputData`` names every output of its component: those the request gave as given,
    the others at the default location they are written to.
    """
    properties = {**job.request, "status": job.status, "properties": _progress(job)}
    if job.spec.get("kind") == "pipeline":
        properties["outputData"] = {**job.spec.get("outputs", {}), **(job.request.get("outputData") or {})}
    if job.error:
        properties["error"] = job.error
    return {
        "id": ctx.arm_id(f"batchEndpoints/{job.endpoint}/deployments/{job.deployment}/jobs/{job.name}"),
        "name": job.name,
        "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints/jobs",
        "properties": properties,
        "systemData": {"createdAt": job.created_at},
    }


def pipeline_job_body(ctx: EmulatorContext, job: JobRecord) -> dict[str, Any]:
    """The jobs GET shape: a Pipeline job without inputs, outputs, steps or settings (as recorded), its
    studio and tracking services, and the error if failed."""
    properties: dict[str, Any] = {
        "jobType": "Pipeline",
        "status": job.status,
        "displayName": job.request.get("name") or job.name,  # the requested name (R3)
        "experimentName": job.experiment,
        "inputs": None,
        "outputs": None,
        "jobs": None,
        "settings": None,
        "services": _services(ctx, job.name),
        "properties": _progress(job),
        "tags": {},
    }
    if job.error:
        properties["error"] = job.error
    return {
        "id": ctx.arm_id(f"jobs/{job.name}"),
        "name": job.name,
        "type": JOB_TYPE,
        "properties": properties,
        "systemData": {"createdAt": job.created_at},
    }


def _services(ctx: EmulatorContext, name: str) -> dict[str, dict[str, Any]]:
    """``Studio`` (read by the SDK's ``Job.studio_url``) and ``Tracking``, in the recorded service shape.

    The emulator has no studio: its Studio endpoint is the job's URL here, the link the provider builds for
    a connection with a custom resource manager (``links.studio_job_url``).
    """
    workspace = (
        f"/subscriptions/{ctx.subscription_id}/resourcegroups/{ctx.resource_group}/workspaces/{ctx.workspace_name}"
    )
    endpoints = {
        "Studio": f"{ctx.base_url}{workspace}/jobs/{name}",
        "Tracking": f"azureml://{ctx.location}.api.azureml.ms/mlflow/v1.0{ctx.workspace_id}?",
    }
    return {
        kind: {
            "jobServiceType": kind,
            "port": None,
            "endpoint": endpoint,
            "status": None,
            "errorMessage": None,
            "properties": None,
            "nodes": None,
        }
        for kind, endpoint in endpoints.items()
    }


def _progress(job: JobRecord) -> dict[str, str]:
    """Emulator bookkeeping as string properties (the only kind Azure ML job properties allow)."""
    progress = job.progress or {}
    return {
        "azureml.batchrun": "true",
        "emulator.endpoint": job.endpoint,
        "emulator.deployment": job.deployment,
        "emulator.miniBatchesDone": str(progress.get("done", 0)),
        "emulator.miniBatchesTotal": str(progress.get("total", 0)),
        "emulator.failedFiles": str(progress.get("failed_files", 0)),
        "emulator.outputUri": job.spec.get("output_uri") or "",
        "emulator.statusHistory": ",".join(entry["status"] for entry in job.history),
    }


def _job_page(request: Request, jobs: list[JobRecord]) -> JSONResponse:
    """One page of jobs; ``nextLink`` is an absolute URL with ``$skipToken`` (the SDK follows it)."""
    ctx = ctx_of(request)
    query = request.query_params
    start = int(query.get("$skipToken", "0") or 0) if query.get("$skipToken", "0").isdigit() else 0
    size = int(query["$top"]) if query.get("$top", "").isdigit() and int(query["$top"]) > 0 else PAGE_SIZE
    items = [batch_job_body(ctx, job) for job in jobs[start : start + size]]
    next_link = None
    if start + size < len(jobs):
        params = {**dict(query), "$skipToken": str(start + size), "$top": str(size)}
        next_link = f"{ctx.base_url}{request.url.path}?{urlencode(params)}"
    return arm_json(page(items, next_link))
