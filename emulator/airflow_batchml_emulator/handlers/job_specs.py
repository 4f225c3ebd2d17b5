"""From a scoring request to a submitted job: resolve the deployment, merge overrides, hand it to the engine.

Shared by the batch endpoint scoring POST and the published-pipeline POST; an invoke of a pipeline
component deployment becomes a pipeline spec (``pipeline_deployments``), run by ``pipeline_runner``. The
service names scoring jobs (the requested name becomes the display name), unless the emulator runs with
``--honour-job-names``.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from airflow_batchml_emulator.errors import BadRequest, NotFound
from airflow_batchml_emulator.handlers import assets
from airflow_batchml_emulator.handlers.batch_settings import REQUEST_FIELDS, check_types
from airflow_batchml_emulator.handlers.common import EmulatorContext, workspace_path
from airflow_batchml_emulator.pipeline_runner import PipelineJobSpec
from airflow_batchml_emulator.scoring.spec import BatchJobSpec, JobError, is_plain_file_name
from airflow_batchml_emulator.state import JobRecord, JobStatus, Resource
from airflow_batchml_emulator.storage import has_parent_segment

log = logging.getLogger(__name__)

_INPUT_TYPES = {"urifolder": "uri_folder", "urifile": "uri_file", "uri_folder": "uri_folder", "uri_file": "uri_file"}
_OUTPUT_ACTIONS = {"appendrow": "append_row", "summaryonly": "summary_only"}
_DURATION = re.compile(
    r"P(?:(?P<d>[0-9]+)D)?(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+(?:[.][0-9]+)?)S)?)?"
)
_SHORT_DATA_ID = re.compile(r"azureml:(?P<name>[^:/@]+):(?P<version>[^:/]+)")


def create_job(
    ctx: EmulatorContext, endpoint: str, deployment: Resource, request: dict[str, Any], name: str | None = None
) -> tuple[JobRecord, bool]:
    """Create the job for a scoring request and submit it when it is new.

    Azure ML names batch jobs itself (``batchjob-<guid>``) and keeps a requested name only as the display
    name, so every request is a new job. With ``honour_job_names`` a requested name names the job and a
    second request of that name gets the existing job back (the older, convenient behaviour). ``name`` is
    an id the emulator chose itself (a published-pipeline run).
    """
    requested = request.get("name")
    if name is None:
        name = str(requested) if requested and ctx.honour_job_names else f"batchjob-{uuid.uuid4()}"
    job = JobRecord(
        name=name,
        endpoint=endpoint,
        deployment=deployment.name,
        experiment=str((request.get("properties") or {}).get("experimentName") or endpoint),
        spec=_spec(ctx, name, endpoint, deployment, request),
        request=request,
    )
    job, created = ctx.store.add_job(job)
    if created:
        submit(ctx, job)
    return job, created


def _spec(
    ctx: EmulatorContext, name: str, endpoint: str, deployment: Resource, request: dict[str, Any]
) -> dict[str, Any]:
    """The stored spec: a pipeline component deployment's steps, or a model deployment's scoring settings."""
    from airflow_batchml_emulator.handlers import pipeline_deployments  # it builds on this module's input rules

    if pipeline_deployments.is_pipeline(deployment):
        return pipeline_deployments.build_spec(ctx, name, endpoint, deployment, request)
    return build_spec(ctx, name, endpoint, deployment, request).to_dict()


def submit(ctx: EmulatorContext, job: JobRecord) -> None:
    """Hand a stored job to the engine, unless a fault rule says it fails."""
    fault = ctx.faults.take_job(job.name)
    if fault:
        ctx.store.set_status(job.name, JobStatus.FAILED, {"code": fault.code, "message": fault.message})
        return
    try:
        is_pipeline = job.spec.get("kind") == PipelineJobSpec.KIND
        ctx.engine.submit(PipelineJobSpec.from_dict(job.spec) if is_pipeline else BatchJobSpec.from_dict(job.spec))
    except Exception as err:  # the job must end Failed, never stay NotStarted forever
        log.exception("Engine refused job %s", job.name)
        ctx.store.set_status(job.name, JobStatus.FAILED, {"code": "InternalError", "message": str(err)})


def build_spec(
    ctx: EmulatorContext, name: str, endpoint: str, deployment: Resource, request: dict[str, Any]
) -> BatchJobSpec:
    """The deployment's settings with the request's overrides applied (overrides win)."""
    check_types(request, REQUEST_FIELDS)
    settings = deployment.body["properties"]
    retry = {**(settings.get("retrySettings") or {}), **(request.get("retrySettings") or {})}
    code = settings.get("codeConfiguration") or {}
    output_uri, output_file = _output(request, settings)
    values = {
        "name": name,
        "endpoint": endpoint,
        "deployment": deployment.name,
        "code_uri": _asset_field(ctx, code.get("codeId"), "codeUri", "codeConfiguration.codeId"),
        "scoring_script": code.get("scoringScript") or "",
        "model_uri": _asset_field(ctx, (settings.get("model") or {}).get("assetId"), "modelUri", "model"),
        "inputs": _inputs(ctx, request.get("inputData") or {}),
        "output_uri": output_uri,
        "output_file_name": output_file,
        "output_action": _OUTPUT_ACTIONS.get(str(settings.get("outputAction", "AppendRow")).lower(), "append_row"),
        "mini_batch_size": _first(request, settings, "miniBatchSize", 10),
        "instance_count": (request.get("compute") or {}).get("instanceCount")
        or (settings.get("resources") or {}).get("instanceCount")
        or 1,
        "max_concurrency_per_instance": settings.get("maxConcurrencyPerInstance") or 1,
        "max_retries": int(retry.get("maxRetries", 3)),
        "timeout": _seconds(retry.get("timeout", "PT30S")),
        "error_threshold": _first(request, settings, "errorThreshold", -1),
        "logging_level": str(_first(request, settings, "loggingLevel", "info")).lower(),
        "environment_variables": {
            **(settings.get("environmentVariables") or {}),
            **(request.get("environmentVariables") or {}),
        },
        "environment": environment_of(ctx, settings.get("environmentId")),
    }
    try:
        return BatchJobSpec(**values)
    except JobError as err:
        raise BadRequest(err.message, code="UserError") from err


def _first(request: dict[str, Any], settings: dict[str, Any], key: str, default: Any) -> Any:
    for source in (request, settings):
        if source.get(key) is not None:
            return source[key]
    return default


def _seconds(value: Any) -> float:
    """``PT30S``, ``PT1M``, ``P1DT2H`` or a number -> seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.fullmatch(str(value))
    if not match:
        raise BadRequest(f"retrySettings.timeout: {value!r} is not an ISO 8601 duration.")
    parts = {key: float(number or 0) for key, number in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def _asset_field(ctx: EmulatorContext, asset_id: str | None, field_name: str, label: str) -> str | None:
    if not asset_id:
        return None
    version = assets.find_version(ctx, workspace_path(asset_id))
    if version is None:
        raise BadRequest(f"{label}: asset {asset_id} of the deployment no longer exists.", code="UserError")
    return version.body["properties"].get(field_name)


def environment_of(ctx: EmulatorContext, environment_id: str | None) -> dict[str, Any]:
    version = assets.find_version(ctx, workspace_path(environment_id)) if environment_id else None
    if version is None:
        return {"id": environment_id} if environment_id else {}
    properties = version.body["properties"]
    return {"id": environment_id, "image": properties.get("image"), "conda_file": properties.get("condaFile")}


def _inputs(ctx: EmulatorContext, input_data: dict[str, Any]) -> list[dict[str, str]]:
    """``inputData`` entries -> engine inputs; data asset ids are resolved to the asset's stored path."""
    inputs = []
    for key, item in input_data.items():
        kind = str(item.get("jobInputType", "")).lower() if isinstance(item, dict) else ""
        if kind == "literal":
            continue
        if kind not in _INPUT_TYPES or not item.get("uri"):
            raise BadRequest(f"inputData.{key}: jobInputType must be UriFolder or UriFile, with a uri.")
        if has_parent_segment(str(item["uri"])):
            raise BadRequest(f"inputData.{key}.uri: {item['uri']} holds a '..' segment; paths may not leave a folder.")
        inputs.append(resolve_input(ctx, key, _INPUT_TYPES[kind], str(item["uri"])))
    if not inputs:
        raise BadRequest("inputData: at least one UriFolder or UriFile input is required.")
    return inputs


def resolve_input(ctx: EmulatorContext, key: str, kind: str, uri: str) -> dict[str, str]:
    short = _SHORT_DATA_ID.fullmatch(uri)
    path = f"data/{short['name']}/versions/{short['version']}" if short else workspace_path(uri)
    if not (short or path.startswith("data/")):
        return {"type": kind, "uri": uri}
    version = assets.find_version(ctx, path)
    if version is None:
        raise NotFound(f"inputData.{key}: data asset {uri} does not exist.")
    properties = version.body["properties"]
    data_type = str(properties.get("dataType", kind)).lower()
    return {"type": _INPUT_TYPES.get(data_type, kind), "uri": properties.get("dataUri", "")}


def _output(request: dict[str, Any], settings: dict[str, Any]) -> tuple[str | None, str]:
    """The output folder and file name; a ``UriFile`` output names both. Neither may leave its folder."""
    file_name = _first(request, settings, "outputFileName", "predictions.csv")
    if not is_plain_file_name(file_name):
        raise BadRequest(f"outputFileName: {file_name!r} must be a plain file name (no '/', '\\' or '..').")
    key, output = next(iter((request.get("outputData") or {}).items()), (None, None))
    if not isinstance(output, dict) or not output.get("uri"):
        return None, file_name
    uri = str(output["uri"])
    check_output_uri(uri, f"outputData.{key}.uri")
    if str(output.get("jobOutputType", "")).lower() in ("urifile", "uri_file"):
        folder, _, file_name = uri.rpartition("/")
        if not is_plain_file_name(file_name):
            raise BadRequest(f"outputData.{key}.uri: {uri} does not end with a file name.")
        return folder + "/", file_name
    return uri, file_name


def check_output_uri(uri: str, label: str) -> None:
    """Outputs go to the workspace's storage: a datastore URI or blob URL, never a local path or ``..``."""
    if not uri.lower().startswith(("azureml://", "https://", "http://")):
        raise BadRequest(f"{label}: {uri!r} is not a datastore URI (azureml://datastores/<name>/paths/<path>) or URL.")
    if has_parent_segment(uri):
        raise BadRequest(f"{label}: {uri} holds a '..' segment; an output may not leave its folder.")


def recover_jobs(ctx: EmulatorContext) -> None:
    """After a restart: re-submit waiting jobs, and run the running ones again from their first mini-batch.

    A job's workers end with the emulator, so what they had scored is gone; the job starts over under
    the same name (Azure ML would have carried on: either way the client sees one job that completes).
    A cancel requested before the restart is honoured.
    """
    for job in ctx.store.jobs_with_status(JobStatus.WAITING_STATUSES | JobStatus.IN_FLIGHT_STATUSES):
        if job.status == JobStatus.CANCEL_REQUESTED:
            ctx.store.set_status(job.name, JobStatus.CANCELED)
            continue
        if job.status in JobStatus.IN_FLIGHT_STATUSES:
            note = PIPELINE_RESTART_NOTE if job.spec.get("kind") == PipelineJobSpec.KIND else RESTART_NOTE
            ctx.store.append_log(job.name, f"{note}\n")
        log.info("Re-submitting job %s after restart", job.name)
        submit(ctx, job)


RESTART_NOTE = "The emulator restarted while this job was running; the job runs again from its first mini-batch."
PIPELINE_RESTART_NOTE = (
    "The emulator restarted while this job was running; its completed steps are kept and the others run again."
)
