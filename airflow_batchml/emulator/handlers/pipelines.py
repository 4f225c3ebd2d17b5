"""The v1 published-pipeline REST surface, each published pipeline bound to a batch endpoint.

SDK v1 pipelines cannot be authored against the emulator, so a test-admin route publishes one: it names
the batch endpoint (and optionally the deployment) that a run scores, and the data-path parameter whose
``DataPathAssignments`` entry becomes the job's input. A run is a batch job named by the run id, so its
status is also visible through jobs GET.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_batchml.emulator.errors import BadRequest, NotFound
from airflow_batchml.emulator.handlers import job_specs
from airflow_batchml.emulator.handlers.common import EmulatorContext, JsonBody, arm_json, ctx_of
from airflow_batchml.emulator.handlers.deployments import require_deployment
from airflow_batchml.emulator.handlers.endpoints import default_deployment, require_endpoint
from airflow_batchml.emulator.handlers.jobs import require_job, run_summary

KIND = "pipelines"


def publish_pipeline(request: Request, body: JsonBody = None) -> JSONResponse:
    """Admin: publish a pipeline that runs batch scoring on ``endpoint`` (the deployment is optional)."""
    ctx = ctx_of(request)
    if not isinstance(body, dict) or not body.get("endpoint"):
        raise BadRequest("The field 'endpoint' (a batch endpoint name) is required to publish a pipeline.")
    require_endpoint(ctx, body["endpoint"])
    if body.get("deployment"):
        require_deployment(ctx, body["endpoint"], body["deployment"])
    pipeline_id = str(uuid.uuid4())
    record = {
        "name": body.get("name") or f"{body['endpoint']}-pipeline",
        "endpoint": body["endpoint"],
        "deployment": body.get("deployment"),
        "data_path_parameter": body.get("data_path_parameter") or "input_data",
    }
    ctx.store.put(KIND, f"{KIND}/{pipeline_id}", record)
    return arm_json({"Id": pipeline_id, **record, "Endpoint": _submit_url(ctx, pipeline_id)}, 201)


def submit_pipeline_run(request: Request, pipeline_id: str, body: JsonBody = None) -> JSONResponse:
    """``PipelineSubmit``: start the bound batch job with the data path assigned to the parameter."""
    ctx = ctx_of(request)
    published = ctx.store.get(KIND, f"{KIND}/{pipeline_id}")
    if published is None:
        raise NotFound(f"Published pipeline {pipeline_id} was not found.")
    if not isinstance(body, dict) or not body.get("ExperimentName"):
        raise BadRequest("The field 'ExperimentName' is required to submit a pipeline run.")
    pipeline = published.body
    uri = _data_path_uri(body.get("DataPathAssignments") or {}, pipeline["data_path_parameter"])
    endpoint = require_endpoint(ctx, pipeline["endpoint"])
    deployment_name = pipeline["deployment"] or default_deployment(endpoint)
    if not deployment_name:
        raise BadRequest(f"Batch endpoint {pipeline['endpoint']} has no default deployment.", code="UserError")
    run_id = str(uuid.uuid4())
    job_request = {
        "name": run_id,
        "inputData": {pipeline["data_path_parameter"]: {"jobInputType": "UriFolder", "uri": uri}},
        "properties": {"experimentName": body["ExperimentName"], "azureml.pipelineid": pipeline_id},
        "parameterAssignments": body.get("ParameterAssignments") or {},
    }
    deployment = require_deployment(ctx, pipeline["endpoint"], deployment_name)
    job, _ = job_specs.create_job(ctx, pipeline["endpoint"], deployment, job_request, name=run_id)
    return arm_json(
        {
            "Id": job.name,
            "Status": job.status,
            "ExperimentName": job.experiment,
            "PipelineId": pipeline_id,
            "RunType": "azureml.PipelineRun",
            "CreatedTime": job.created_at,
        }
    )


def get_experiment_run(request: Request, experiment: str, run_id: str) -> JSONResponse:
    ctx = ctx_of(request)
    job = require_job(ctx, run_id)
    if job.experiment != experiment:
        raise NotFound(f"Run {run_id} was not found in experiment {experiment}.")
    return arm_json(run_summary(job))


def _data_path_uri(assignments: dict[str, Any], parameter: str) -> str:
    assignment = assignments.get(parameter)
    if not isinstance(assignment, dict) or not assignment.get("RelativePath"):
        raise BadRequest(
            f"DataPathAssignments.{parameter}: DataStoreName and RelativePath are required "
            f"for the pipeline's data-path parameter {parameter}."
        )
    datastore = assignment.get("DataStoreName") or "workspaceblobstore"
    # RelativePath is a plain blob path; a datastore URI's path is percent-encoded.
    return f"azureml://datastores/{datastore}/paths/{quote(str(assignment['RelativePath']).lstrip('/'), safe='/')}"


def _submit_url(ctx: EmulatorContext, pipeline_id: str) -> str:
    return f"{ctx.base_url}/pipelines/v1.0{ctx.workspace_id}/PipelineRuns/PipelineSubmit/{pipeline_id}"
