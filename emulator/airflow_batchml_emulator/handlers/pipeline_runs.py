"""A v1 pipeline run: a ``PipelineSubmissionInfo`` checked against the published pipeline, then a batch job.

Shared by ``PipelineSubmit/{pipeline id}`` and ``PipelineEndpointSubmit/Id/{endpoint id}``. The body and
the answer are azureml-pipeline-core's ``PipelineSubmissionInfo`` and ``PipelineRunEntity`` (``aeva.py``
names the source). ``ParameterAssignments`` are ``{str: str}`` there; JSON numbers and booleans are
accepted as the service's JSON reader would take them.

How assignments reach the job (``DataPathAssignments`` entries are ``{"DataStoreName", "RelativePath"}``):
on a pipeline component deployment each parameter (assigned, else its published default) becomes a literal
job input and each data path a ``UriFolder`` input of that name, the v1 -> v2 mapping of
migrate-to-v2-deploy-pipelines ("pipeline parameter" -> "job input"). A model deployment takes exactly one
data input, so its run gets the data path only; the parameters are recorded on the job request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow_batchml_emulator.errors import AevaError, EmulatorError
from airflow_batchml_emulator.handlers import aeva, job_specs
from airflow_batchml_emulator.handlers.common import EmulatorContext
from airflow_batchml_emulator.handlers.deployments import require_deployment
from airflow_batchml_emulator.handlers.endpoints import default_deployment, require_endpoint
from airflow_batchml_emulator.handlers.pipeline_deployments import is_pipeline
from airflow_batchml_emulator.state import JobRecord, JobStatus, Resource

_RUN_STATUS = {
    JobStatus.RUNNING: "Running",
    JobStatus.FINALIZING: "Running",
    JobStatus.COMPLETED: "Finished",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELED: "Canceled",
    JobStatus.CANCEL_REQUESTED: "Canceled",
}


def submit(
    ctx: EmulatorContext, pipeline: Resource, body: dict[str, Any], properties: dict[str, str] | None = None
) -> dict[str, Any]:
    """Check the submission against ``pipeline``, start its job and return the ``PipelineRunEntity``."""
    record = pipeline.body
    status = record.get("status", aeva.ACTIVE)
    if status != aeva.ACTIVE:
        raise AevaError(400, "UserError", f"Published pipeline {pipeline.name} is {status} and cannot be run.")
    experiment = body.get("ExperimentName")
    if not isinstance(experiment, str) or not experiment:
        raise aeva.bad_request("The field 'ExperimentName' is required to submit a pipeline run.")
    parameters = _parameters(record, body.get("ParameterAssignments"))
    data_paths = _data_paths(record, body.get("DataPathAssignments"))
    deployment = _deployment(ctx, record)
    run_id = aeva.new_id()
    job_request = {
        "name": run_id,
        "inputData": _input_data(deployment, parameters, data_paths),
        "properties": {"experimentName": experiment, "azureml.pipelineid": pipeline.name, **(properties or {})},
        "parameterAssignments": parameters,
    }
    try:
        job, _ = job_specs.create_job(ctx, record["endpoint"], deployment, job_request, name=run_id)
    except EmulatorError as err:  # the deployment refused the inputs: answered in this service's shape
        raise AevaError(err.status, "UserError", err.message) from err
    return run_entity(job, pipeline.name, experiment, parameters)


def run_entity(job: JobRecord, pipeline_id: str, experiment: str, parameters: dict[str, str]) -> dict[str, Any]:
    """A ``PipelineRunEntity`` (models/pipeline_run_entity.py, ``Status`` a models/pipeline_run_status.py)."""
    return {
        "Id": job.name,
        "Status": {
            "StatusCode": _RUN_STATUS.get(job.status, "NotStarted"),
            "StatusDetail": None,
            "CreationTime": job.created_at,
            "EndTime": None,
        },
        "RunHistoryExperimentName": experiment,
        "PipelineId": pipeline_id,
        "ParameterAssignments": parameters,
        "RunSource": "Unavailable",
        "RunType": "HTTP",
        "IsSubmitted": True,
        "HasErrors": False,
        "HasWarnings": False,
        "EntityStatus": aeva.ACTIVE,
        "CreatedDate": job.created_at,
        "LastModifiedDate": job.created_at,
    }


def declared_data_paths(record: dict[str, Any]) -> list[str]:
    """Pipelines published before data-path lists were kept name one ``data_path_parameter``."""
    return record.get("data_path_parameters") or [record.get("data_path_parameter") or "input_data"]


def _parameters(record: dict[str, Any], assigned: Any) -> dict[str, Any]:
    """Published defaults overridden by the assignments; an undeclared name is refused."""
    assigned = assigned or {}
    if not isinstance(assigned, dict):
        raise aeva.bad_request("ParameterAssignments must be an object of parameter names to values.")
    declared = record.get("parameters") or {}
    for key, value in assigned.items():
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise aeva.bad_request(
                f"ParameterAssignments.{key}: the pipeline has no parameter {key} (it has: {known})."
            )
        if not isinstance(value, (str, int, float, bool)):
            raise aeva.bad_request(f"ParameterAssignments.{key}: {value!r} is not a string, number or boolean.")
    # A parameter without a default (a required component input) is sent only when assigned.
    return {key: value for key, value in {**declared, **assigned}.items() if value is not None}


def _data_paths(record: dict[str, Any], assigned: Any) -> dict[str, str]:
    """Each declared data-path parameter's datastore URI; an undeclared or missing one is refused."""
    assigned = assigned or {}
    if not isinstance(assigned, dict):
        raise aeva.bad_request("DataPathAssignments must be an object of data-path parameter names.")
    declared = declared_data_paths(record)
    for key in assigned:
        if key not in declared:
            raise aeva.bad_request(
                f"DataPathAssignments.{key}: the pipeline has no data-path parameter {key} "
                f"(it has: {', '.join(declared)})."
            )
    return {name: _data_path_uri(assigned.get(name), name) for name in declared}


def _data_path_uri(assignment: Any, parameter: str) -> str:
    if not isinstance(assignment, dict) or not assignment.get("RelativePath"):
        raise aeva.bad_request(
            f"DataPathAssignments.{parameter}: DataStoreName and RelativePath are required "
            f"for the pipeline's data-path parameter {parameter}."
        )
    datastore = assignment.get("DataStoreName") or "workspaceblobstore"
    # RelativePath is a plain blob path; a datastore URI's path is percent-encoded.
    return f"azureml://datastores/{datastore}/paths/{quote(str(assignment['RelativePath']).lstrip('/'), safe='/')}"


def _deployment(ctx: EmulatorContext, record: dict[str, Any]) -> Resource:
    endpoint = require_endpoint(ctx, record["endpoint"])
    name = record.get("deployment") or default_deployment(endpoint)
    if not name:
        raise AevaError(400, "UserError", f"Batch endpoint {record['endpoint']} has no default deployment.")
    return require_deployment(ctx, record["endpoint"], name)


def _input_data(deployment: Resource, parameters: dict[str, Any], data_paths: dict[str, str]) -> dict[str, Any]:
    """The job's ``inputData``; a pipeline deployment then checks it against its component (pipeline_spec)."""
    inputs: dict[str, Any] = {name: {"jobInputType": "UriFolder", "uri": uri} for name, uri in data_paths.items()}
    if is_pipeline(deployment):
        inputs.update({name: {"jobInputType": "Literal", "value": value} for name, value in parameters.items()})
    return inputs
