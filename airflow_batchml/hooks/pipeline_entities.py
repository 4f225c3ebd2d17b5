"""The v1 pipelines service's bodies: the run body the hook sends and the entities it reads, as plain dicts.

Entities are azureml-pipeline-core's ``PipelineEntity``, ``PipelineScheduleEntity`` and
``PipelineEndpointEntity`` (PascalCase keys, ``_restclients/aeva/models/``); the summaries keep what a
housekeeping task shows and XCom can carry. ``EntityStatus`` may still come as the older ``0``/``1``/``2``
(``service_caller_base.entity_status_from_enum``), read here as Active/Deprecated/Disabled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlparse

from airflow_batchml.batch_job import DATASTORE_URI
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.names import check_name

DISABLED = "Disabled"
_STATUS_CODES = {"0": "Active", "1": "Deprecated", "2": DISABLED}
_SCHEDULE_TYPES = {"0": "Recurrence", "1": "DataStore"}


def entity_status(entity: Mapping[str, Any]) -> str:
    status = str(entity.get("EntityStatus") or "Active")
    return _STATUS_CODES.get(status, status)


def pipeline_summary(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": entity.get("Id"),
        "name": entity.get("Name"),
        "status": entity_status(entity),
        "version": entity.get("Version"),
        "description": entity.get("Description"),
        "parameters": dict(entity.get("ParameterAssignments") or {}),
        "rest_endpoint": entity.get("Url"),
    }


def schedule_summary(entity: Mapping[str, Any]) -> dict[str, Any]:
    recurrence = entity.get("Recurrence") or None
    trigger = entity.get("DataStoreTriggerInfo") or None
    schedule_type = "" if entity.get("ScheduleType") is None else str(entity["ScheduleType"])  # 0 is Recurrence
    return {
        "id": entity.get("Id"),
        "name": entity.get("Name"),
        "status": entity_status(entity),
        "pipeline_id": entity.get("PipelineId"),
        "pipeline_endpoint_id": entity.get("PipelineEndpointId"),
        "type": _SCHEDULE_TYPES.get(schedule_type, schedule_type),
        "recurrence": recurrence and {"frequency": recurrence.get("Frequency"), "interval": recurrence.get("Interval")},
        "datastore": trigger
        and {
            "name": trigger.get("DataStoreName"),
            "path": trigger.get("PathOnDataStore"),
            "data_path_parameter": trigger.get("DataPathParameterName"),
        },
        "provisioning_status": entity.get("ProvisioningStatus"),
    }


def endpoint_summary(entity: Mapping[str, Any]) -> dict[str, Any]:
    versions = entity.get("PipelineVersionList") or []
    return {
        "id": entity.get("Id"),
        "name": entity.get("Name"),
        "status": entity_status(entity),
        "default_version": entity.get("DefaultVersion"),
        "versions": {str(item.get("Version")): item.get("PipelineId") for item in versions},
        "rest_endpoint": entity.get("Url"),
    }


def pipeline_run_body(
    rest_endpoint: str,
    experiment_name: str,
    parameter_assignments: Mapping[str, Any] | None,
    data_path_assignments: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Validate the arguments and build the REST body; every error names the argument."""
    try:
        scheme = urlparse(str(rest_endpoint)).scheme
    except ValueError:  # e.g. an unclosed "[" (IPv6 host)
        scheme = None
    if scheme != "https":
        raise AzureMLConfigurationError("rest_endpoint", f"{rest_endpoint!r} is not an https URL")
    return run_body(experiment_name, parameter_assignments, data_path_assignments)


def run_body(
    experiment_name: str,
    parameter_assignments: Mapping[str, Any] | None,
    data_path_assignments: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The run body without its endpoint (checked before the endpoint is looked up)."""
    check_name("experiment", experiment_name, "experiment_name")
    if parameter_assignments is not None and not isinstance(parameter_assignments, Mapping):
        raise AzureMLConfigurationError("parameter_assignments", f"{parameter_assignments!r} is not a mapping")
    parameters = dict(parameter_assignments or {})
    for key, value in parameters.items():
        if not isinstance(value, (str, int, float, bool)):
            raise AzureMLConfigurationError(f"parameter_assignments.{key}", f"{value!r} is not a string or number")
    if data_path_assignments is not None and not isinstance(data_path_assignments, Mapping):
        raise AzureMLConfigurationError("data_path_assignments", f"{data_path_assignments!r} is not a mapping")
    data_paths = {key: _data_path(key, value) for key, value in (data_path_assignments or {}).items()}
    return {
        "ExperimentName": experiment_name,
        "ParameterAssignments": parameters,
        "DataPathAssignments": data_paths,
    }


def _data_path(key: str, value: Any) -> dict[str, str]:
    """Accept ``{"datastore", "path"}``, ``{"DataStoreName", "RelativePath"}`` or an azureml:// datastore URI."""
    if isinstance(value, str) and (match := DATASTORE_URI.fullmatch(value)) and match["path"]:
        # RelativePath is a plain blob path; the URI's path is percent-encoded.
        return {"DataStoreName": match["store"], "RelativePath": unquote(match["path"])}
    if isinstance(value, Mapping):
        store = value.get("datastore", value.get("DataStoreName"))
        path = value.get("path", value.get("RelativePath"))
        if isinstance(store, str) and store and isinstance(path, str) and path:
            return {"DataStoreName": store, "RelativePath": path}
    raise AzureMLConfigurationError(
        f"data_path_assignments.{key}",
        f"{value!r} is not azureml://datastores/<name>/paths/<path> or {{'datastore': ..., 'path': ...}}",
    )
