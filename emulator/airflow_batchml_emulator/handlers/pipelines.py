"""The v1 published pipelines: list, get, status (disable) and runs, each pipeline bound to a batch endpoint.

SDK v1 pipelines cannot be authored against the emulator, so a test-admin route publishes one: it names
the batch endpoint (and optionally the deployment) a run goes to, the pipeline's parameters with their
defaults (a v1 ``PipelineEntity`` lists them in ``ParameterAssignments``) and its data-path parameters.
Bound to a pipeline component deployment, the pipeline has the component's interface unless told
otherwise: its literal inputs are the parameters, its data inputs the data paths.
A run is a batch job named by the run id, so its status is also visible through jobs GET.

Routes and bodies as azureml-pipeline-core calls them (``aeva.py`` names the source): ``PublishedPipeline.
list/get`` read ``GET Pipelines[?activeOnly=]`` and ``GET Pipelines/{id}``; ``disable()`` sends
``PUT Pipelines/{id}/status`` with the JSON string ``"Disabled"`` and reads no body; a run is
``POST PipelineRuns/PipelineSubmit/{id}`` with a ``PipelineSubmissionInfo`` and answers a
``PipelineRunEntity`` whose ``Status`` is ``{"StatusCode": ...}`` (``NotStarted``, ``Running``, ``Failed``,
``Finished``, ``Canceled``). Sources are silent on two refusals, so the less convenient answer is modelled:
a pipeline that is not ``Active`` refuses runs (graph.py documents ``disable()`` as "unavailable to run"),
and an assignment to a name the pipeline does not declare is refused rather than ignored.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml_emulator.errors import BadRequest, NotFound
from airflow_batchml_emulator.handlers import aeva, components, pipeline_runs
from airflow_batchml_emulator.handlers.common import EmulatorContext, JsonBody, arm_json, ctx_of
from airflow_batchml_emulator.handlers.deployments import require_deployment
from airflow_batchml_emulator.handlers.endpoints import default_deployment, require_endpoint
from airflow_batchml_emulator.handlers.jobs import require_job, run_summary
from airflow_batchml_emulator.handlers.pipeline_deployments import is_pipeline
from airflow_batchml_emulator.pipeline_spec import DATA_TYPES, LITERAL_TYPES
from airflow_batchml_emulator.state import Resource

KIND = "pipelines"


def publish_pipeline(request: Request, body: JsonBody = None) -> JSONResponse:
    """Admin: publish a pipeline that runs on batch endpoint ``endpoint`` (the deployment is optional)."""
    ctx = ctx_of(request)
    if not isinstance(body, dict) or not body.get("endpoint"):
        raise BadRequest("The field 'endpoint' (a batch endpoint name) is required to publish a pipeline.")
    endpoint = require_endpoint(ctx, body["endpoint"])
    deployment_name = body.get("deployment") or default_deployment(endpoint)
    deployment = require_deployment(ctx, body["endpoint"], deployment_name) if deployment_name else None
    derived = _component_interface(ctx, deployment) if deployment and is_pipeline(deployment) else {}
    parameters = body.get("parameters") or derived.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise BadRequest("The field 'parameters' must map parameter names to default values.")
    data_paths = (
        body.get("data_path_parameters")
        or ([body["data_path_parameter"]] if body.get("data_path_parameter") else None)
        or derived.get("data_path_parameters")
        or ["input_data"]
    )
    record = {
        "name": body.get("name") or f"{body['endpoint']}-pipeline",
        "description": body.get("description"),
        "version": body.get("version"),
        "endpoint": body["endpoint"],
        "deployment": body.get("deployment"),
        "data_path_parameters": [str(name) for name in data_paths],
        "parameters": {str(key): value for key, value in parameters.items()},
        "status": aeva.ACTIVE,
    }
    resource, _ = ctx.store.put(KIND, f"{KIND}/{aeva.new_id()}", record)
    published = pipeline_entity(ctx, resource)
    return arm_json({**published, "Endpoint": published["Url"]}, 201)  # the REST endpoint, as the portal names it


def list_pipelines(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    active_only = aeva.active_only(request)
    items = [pipeline_entity(ctx, item) for item in ctx.store.list(KIND)]
    return arm_json([item for item in items if not active_only or item["EntityStatus"] == aeva.ACTIVE])


def get_pipeline(request: Request, pipeline_id: str) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(pipeline_entity(ctx, require_pipeline(ctx, pipeline_id)))


def put_pipeline_status(request: Request, pipeline_id: str, body: JsonBody = None) -> Response:
    """``UpdateStatusAsync``: the body is the new status as a JSON string; 200 without a body."""
    ctx = ctx_of(request)
    pipeline = require_pipeline(ctx, pipeline_id)
    status = aeva.entity_status(body, "The new status")
    ctx.store.put(KIND, pipeline.path, {**pipeline.body, "status": status})
    return Response(status_code=200)


def submit_pipeline_run(request: Request, pipeline_id: str, body: JsonBody = None) -> JSONResponse:
    """``PipelineSubmit``: start the bound batch job with the run's assignments."""
    ctx = ctx_of(request)
    pipeline = require_pipeline(ctx, pipeline_id)
    return arm_json(pipeline_runs.submit(ctx, pipeline, aeva.json_object(body, "a pipeline run")))


def get_experiment_run(request: Request, experiment: str, run_id: str) -> JSONResponse:
    ctx = ctx_of(request)
    job = require_job(ctx, run_id)
    if job.experiment != experiment:
        raise NotFound(f"Run {run_id} was not found in experiment {experiment}.")
    return arm_json(run_summary(job))


def _component_interface(ctx: EmulatorContext, deployment: Resource) -> dict[str, Any]:
    """A pipeline component's literal inputs (with defaults) as parameters, its data inputs as data paths.

    The v1 -> v2 mapping of migrate-to-v2-deploy-pipelines: a pipeline parameter is a job input.
    """
    component_id = str(deployment.body["properties"]["deploymentConfiguration"]["componentId"]["assetId"])
    declared = (components.find_spec(ctx, component_id) or {}).get("inputs") or {}
    literal = {name: (item or {}).get("default") for name, item in declared.items() if _type(item) in LITERAL_TYPES}
    return {
        "parameters": literal,
        "data_path_parameters": [name for name in declared if _type(declared[name]) in DATA_TYPES],
    }


def _type(declaration: Any) -> str:
    return str((declaration or {}).get("type", "")).lower()


def require_pipeline(ctx: EmulatorContext, pipeline_id: str) -> Resource:
    pipeline = ctx.store.get(KIND, f"{KIND}/{pipeline_id}")
    if pipeline is None:
        raise aeva.not_found("Published pipeline", pipeline_id)
    return pipeline


def pipeline_entity(ctx: EmulatorContext, resource: Resource) -> dict[str, Any]:
    """A ``PipelineEntity`` (models/pipeline_entity.py); ``Url`` is the run's REST endpoint."""
    record = resource.body
    return aeva.entity(
        resource,
        {
            "Name": record["name"],
            "Description": record.get("description"),
            "Version": record.get("version"),
            "GraphId": None,
            "TotalRunSteps": 1,
            # {str: str} in the model: defaults are sent as strings.
            "ParameterAssignments": {
                key: str(value) for key, value in (record.get("parameters") or {}).items() if value is not None
            },
            "DataSetDefinitionValueAssignments": {},
            "Url": f"{aeva.v1_base(ctx)}/PipelineRuns/PipelineSubmit/{resource.name}",
            "ContinueRunOnStepFailure": False,
            "Properties": {},
            "EnableNotification": None,
        },
    )
