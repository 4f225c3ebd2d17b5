"""Pipeline component deployments: their configuration on PUT, and the job spec an invoke of one becomes.

azure-ai-ml 1.35 sends a ``PipelineComponentBatchDeployment`` (api-version 2023-02-01-preview) as
``properties.deploymentConfiguration = {deploymentConfigurationType: PipelineComponent, componentId:
{assetId}, settings}`` and reads ``componentId.assetId`` and ``settings`` back. The component must be a
registered pipeline component of the workspace and ``settings.default_compute`` an existing compute (the
docs' samples always set it; the emulator refuses a deployment without one, the less convenient reading).
``default_datastore`` defaults to ``workspaceblobstore``; ``continue_on_step_failure`` to false.

Invoke rules (bindings, defaults, output locations) are those of ``pipeline_spec.py``; data asset ids
and datastore paths are checked as for a model deployment's inputs (``job_specs``).
"""

from __future__ import annotations

from typing import Any

from airflow_batchml_emulator import pipeline_spec
from airflow_batchml_emulator.errors import BadRequest, BindingError
from airflow_batchml_emulator.handlers import assets, components, job_specs
from airflow_batchml_emulator.handlers.common import EmulatorContext, workspace_path
from airflow_batchml_emulator.state import Resource
from airflow_batchml_emulator.storage import has_parent_segment

CONFIGURATION_TYPE = "PipelineComponent"
DEFAULT_DATASTORE = "workspaceblobstore"
_FIELD = "properties.deploymentConfiguration"


def is_pipeline(deployment: Resource) -> bool:
    return isinstance(deployment.body.get("properties", {}).get("deploymentConfiguration"), dict)


def check_configuration(ctx: EmulatorContext, config: Any) -> None:
    """Refuse (400 UserError, naming the field) a configuration the emulator could not run."""
    if not isinstance(config, dict) or str(config.get("deploymentConfigurationType")) != CONFIGURATION_TYPE:
        raise BadRequest(f"{_FIELD}.deploymentConfigurationType: must be {CONFIGURATION_TYPE}.", code="UserError")
    asset_id = (config.get("componentId") or {}).get("assetId") if isinstance(config.get("componentId"), dict) else None
    spec = components.find_spec(ctx, str(asset_id)) if asset_id else None
    if spec is None or spec.get("type") != "pipeline":
        raise BadRequest(
            f"{_FIELD}.componentId.assetId: {asset_id} is not a pipeline component of this workspace.", code="UserError"
        )
    settings = config.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise BadRequest(f"{_FIELD}.settings: expected an object.", code="UserError")
    settings = settings or {}
    compute = str(settings.get("default_compute") or "").rsplit("/computes/", 1)[-1].removeprefix("azureml:")
    if not compute or ctx.store.get("computes", f"computes/{compute}") is None:
        raise BadRequest(
            f"{_FIELD}.settings.default_compute: compute {compute or '(none)'} does not exist.", code="UserError"
        )
    datastore = settings.get("default_datastore") or DEFAULT_DATASTORE
    if datastore not in ctx.datastores:
        raise BadRequest(
            f"{_FIELD}.settings.default_datastore: datastore {datastore} does not exist.", code="UserError"
        )
    if str(settings.get("continue_on_step_failure", False)).lower() not in ("true", "false"):
        raise BadRequest(f"{_FIELD}.settings.continue_on_step_failure: expected true or false.", code="UserError")
    _check_runnable(ctx, spec, str(asset_id))


def _check_runnable(ctx: EmulatorContext, spec: dict[str, Any], label: str, depth: int = 0) -> None:
    """Every node is a command step or a pipeline of them (what the emulator runs), at most a few levels deep."""
    if depth > pipeline_spec.MAX_NESTING:
        raise BadRequest(f"{_FIELD}.componentId: {label} nests pipelines too deep.", code="UserError")
    for node_name, node in (spec.get("jobs") or {}).items():
        child = components.find_spec(ctx, str(node.get("componentId", ""))) or {}
        if child.get("type") not in pipeline_spec.RUNNABLE_NODES:
            raise BadRequest(
                f"{_FIELD}.componentId: step {node_name} of {label} is a {child.get('type')} component; "
                "the emulator runs command steps (and pipelines of them) only.",
                code="UserError",
            )
        if child.get("type") == "pipeline":
            _check_runnable(ctx, child, f"{label} step {node_name}", depth + 1)


def build_spec(
    ctx: EmulatorContext, name: str, endpoint: str, deployment: Resource, request: dict[str, Any]
) -> dict[str, Any]:
    """The runnable spec of an invoke: bindings checked (400 UserError before any job exists), steps planned."""
    config = deployment.body["properties"]["deploymentConfiguration"]
    settings = config.get("settings") or {}
    component_id = str(config["componentId"]["assetId"])
    spec = components.find_spec(ctx, component_id)
    if spec is None:
        raise BadRequest(
            f"The component {component_id} of deployment {deployment.name} no longer exists.", code="UserError"
        )
    datastore = settings.get("default_datastore") or DEFAULT_DATASTORE
    try:
        inputs = pipeline_spec.bind_inputs(spec, _object(request, "inputData"))
        outputs = pipeline_spec.bind_outputs(
            spec, _object(request, "outputData"), lambda output: _default_uri(datastore, name, output)
        )
        steps = pipeline_spec.plan_steps(
            spec,
            _resolved(ctx, inputs),
            outputs,
            lambda cid: components.find_spec(ctx, cid),
            lambda job, output: _default_uri(datastore, job, output),
        )
    except BindingError as err:
        raise BadRequest(str(err), code="UserError") from err
    for output_name, item in outputs.items():
        job_specs.check_output_uri(item["uri"], f"outputData.{output_name}.uri")
    return {
        "kind": "pipeline",
        "name": name,
        "endpoint": endpoint,
        "deployment": deployment.name,
        "component_id": component_id,
        "compute": str(settings.get("default_compute")),
        "continue_on_step_failure": str(settings.get("continue_on_step_failure", False)).lower() == "true",
        "outputs": outputs,
        "steps": [_with_assets(ctx, step) for step in steps],
    }


def _object(request: dict[str, Any], key: str) -> dict[str, Any]:
    value = request.get(key) or {}
    if not isinstance(value, dict):
        raise BadRequest(f"{key}: expected an object of named entries.", code="UserError")
    return value


def _default_uri(datastore: str, job_name: str, output: str) -> str:
    return f"azureml://datastores/{datastore}/paths/azureml/{job_name}/{output}/"


def _resolved(ctx: EmulatorContext, inputs: dict[str, pipeline_spec.Binding]) -> dict[str, pipeline_spec.Binding]:
    """Data inputs with asset ids resolved to their paths; ``..`` refused, as for a model deployment's inputs."""
    resolved = {}
    for key, binding in inputs.items():
        if binding.kind == "data":
            if has_parent_segment(binding.uri):
                raise BadRequest(f"inputData.{key}.uri: {binding.uri} holds a '..' segment.", code="UserError")
            item = job_specs.resolve_input(ctx, key, binding.type, binding.uri)
            binding = pipeline_spec.Binding("data", type=item["type"], uri=item["uri"])
        resolved[key] = binding
    return resolved


def _with_assets(ctx: EmulatorContext, step: dict[str, Any]) -> dict[str, Any]:
    """A step with its code folder's URI and its environment (image, conda file), read from their assets."""
    code = step.pop("code")
    version = assets.find_version(ctx, workspace_path(code)) if "/workspaces/" in code else None
    environment = step.pop("environment")
    return {
        **step,
        "code_uri": version.body["properties"].get("codeUri", "") if version else "",
        "environment": job_specs.environment_of(ctx, environment) if environment else {},
    }
