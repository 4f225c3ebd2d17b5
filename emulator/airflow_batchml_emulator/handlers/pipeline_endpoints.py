"""v1 pipeline endpoints: one REST endpoint in front of numbered versions of published pipelines.

Routes and bodies as azureml-pipeline-core's ``PipelineEndpoint`` calls them (``aeva.py`` names the
source): ``publish`` posts a ``PipelineEndpointCreationInfo`` (``Name``, ``Description``, ``PipelineId``)
to ``PipelineEndpoints/Create`` and gets version ``"0"`` as the default (the class documents versions as
"auto-increments, starts with 0"); ``get(id=)`` reads ``PipelineEndpoints/Id/{id}``, ``get(name=)``
``PipelineEndpoints/Name?Name=``, ``list`` ``PipelineEndpoints?activeOnly=``; ``add_version``,
``set_default_version`` and ``disable`` PUT the changed entity to ``PipelineEndpoints/{id}``. A run is
``POST PipelineRuns/PipelineEndpointSubmit/Id/{id}``, or with a version
``.../Id/{id}/{version}?pipelineVersion={version}`` (the client sends both forms together). Names are
unique in a workspace (the class says so); a second create of a name is refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_batchml_emulator.errors import AevaError
from airflow_batchml_emulator.handlers import aeva, pipeline_runs, pipelines
from airflow_batchml_emulator.handlers.common import EmulatorContext, JsonBody, arm_json, ctx_of
from airflow_batchml_emulator.state import Resource

KIND = "pipelineEndpoints"


def create_endpoint(request: Request, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    body = aeva.json_object(body, "a pipeline endpoint")
    name = body.get("Name")
    if not isinstance(name, str) or not name:
        raise aeva.bad_request("The field 'Name' is required for a pipeline endpoint.")
    if find_by_name(ctx, name) is not None:
        raise aeva.bad_request(f"A pipeline endpoint named {name} already exists in this workspace.")
    pipelines.require_pipeline(ctx, str(body.get("PipelineId")))
    record = {
        "name": name,
        "description": body.get("Description"),
        "default_version": "0",
        "versions": [{"Version": "0", "PipelineId": body["PipelineId"]}],
        "properties": body.get("Properties") or {},
        "status": aeva.ACTIVE,
    }
    resource, _ = ctx.store.put(KIND, f"{KIND}/{aeva.new_id()}", record)
    return arm_json(endpoint_entity(ctx, resource))


def get_endpoint(request: Request, endpoint_id: str) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(endpoint_entity(ctx, require_endpoint(ctx, endpoint_id)))


def get_endpoint_by_name(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    name = request.query_params.get("Name", "")
    endpoint = find_by_name(ctx, name)
    if endpoint is None:
        raise aeva.not_found("Pipeline endpoint named", name)
    return arm_json(endpoint_entity(ctx, endpoint))


def list_endpoints(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    active_only = aeva.active_only(request)
    items = [endpoint_entity(ctx, item) for item in ctx.store.list(KIND)]
    return arm_json([item for item in items if not active_only or item["EntityStatus"] == aeva.ACTIVE])


def put_endpoint(request: Request, endpoint_id: str, body: JsonBody = None) -> JSONResponse:
    """The changed entity: name, description, versions, default version and status."""
    ctx = ctx_of(request)
    endpoint = require_endpoint(ctx, endpoint_id)
    body = aeva.json_object(body, f"pipeline endpoint {endpoint_id}")
    versions = body.get("PipelineVersionList", endpoint.body["versions"])
    if not isinstance(versions, list) or not versions:
        raise aeva.bad_request("PipelineVersionList must list at least one version.")
    for item in versions:
        pipelines.require_pipeline(ctx, str((item or {}).get("PipelineId")))
    default = str(body.get("DefaultVersion", endpoint.body["default_version"]))
    if default not in {str(item.get("Version")) for item in versions}:
        raise aeva.bad_request(f"DefaultVersion {default} is not in PipelineVersionList.")
    record = {
        **endpoint.body,
        "name": body.get("Name") or endpoint.body["name"],
        "description": body.get("Description", endpoint.body["description"]),
        "default_version": default,
        "versions": [{"Version": str(item["Version"]), "PipelineId": item["PipelineId"]} for item in versions],
        "status": aeva.entity_status(body.get("EntityStatus", endpoint.body["status"]), "EntityStatus"),
    }
    resource, _ = ctx.store.put(KIND, endpoint.path, record)
    return arm_json(endpoint_entity(ctx, resource))


def submit_endpoint_run(request: Request, endpoint_id: str, body: JsonBody = None) -> JSONResponse:
    """Run the endpoint's default version, or the one ``pipelineVersion`` names."""
    return _submit(request, endpoint_id, None, body)


def submit_endpoint_version_run(
    request: Request, endpoint_id: str, version: str, body: JsonBody = None
) -> JSONResponse:
    """Run the version the path names (``pipelineVersion``, when sent too, must agree)."""
    return _submit(request, endpoint_id, version, body)


def _submit(request: Request, endpoint_id: str, version: str | None, body: Any) -> JSONResponse:
    ctx = ctx_of(request)
    endpoint = require_endpoint(ctx, endpoint_id)
    if endpoint.body["status"] != aeva.ACTIVE:
        raise AevaError(400, "UserError", f"Pipeline endpoint {endpoint_id} is {endpoint.body['status']}.")
    asked = request.query_params.get("pipelineVersion")
    if version is not None and asked is not None and asked != version:
        raise aeva.bad_request(f"The path names version {version} but pipelineVersion is {asked}.")
    wanted = version or asked or endpoint.body["default_version"]
    versions = {item["Version"]: item["PipelineId"] for item in endpoint.body["versions"]}
    if wanted not in versions:
        raise aeva.bad_request(
            f"Pipeline endpoint {endpoint_id} has no version {wanted} (it has {', '.join(versions)})."
        )
    pipeline = pipelines.require_pipeline(ctx, versions[wanted])
    properties = {"azureml.pipelineEndpointId": endpoint_id, "azureml.pipelineVersion": wanted}
    return arm_json(pipeline_runs.submit(ctx, pipeline, aeva.json_object(body, "a pipeline run"), properties))


def require_endpoint(ctx: EmulatorContext, endpoint_id: str) -> Resource:
    endpoint = ctx.store.get(KIND, f"{KIND}/{endpoint_id}")
    if endpoint is None:
        raise aeva.not_found("Pipeline endpoint", endpoint_id)
    return endpoint


def find_by_name(ctx: EmulatorContext, name: str) -> Resource | None:
    return next((item for item in ctx.store.list(KIND) if item.body["name"] == name), None)


def endpoint_entity(ctx: EmulatorContext, resource: Resource) -> dict[str, Any]:
    """A ``PipelineEndpointEntity`` (models/pipeline_endpoint_entity.py); ``Url`` submits the default version."""
    record = resource.body
    return aeva.entity(
        resource,
        {
            "Name": record["name"],
            "Description": record.get("description"),
            "DefaultVersion": record["default_version"],
            "PipelineVersionList": record["versions"],
            "Url": f"{aeva.v1_base(ctx)}/PipelineRuns/PipelineEndpointSubmit/Id/{resource.name}",
            "SwaggerUrl": None,
            "Properties": record.get("properties") or {},
            "tags": {},
        },
    )
