"""v1 pipeline schedules: create, list, get and update (enable/disable), each tied to a published pipeline.

Routes and bodies as azureml-pipeline-core's ``Schedule`` calls them (``aeva.py`` names the source):
``Schedule.create`` posts a ``ScheduleCreationInfo`` to ``Schedules/Create`` with ``ScheduleType`` ``0``
(a ``Recurrence``: ``Frequency`` Month/Week/Day/Hour/Minute, ``Interval``) or ``1`` (a datastore change:
``DataStoreTriggerInfo`` with ``DataStoreName``, ``PollingInterval``, ``DataPathParameterName``,
``PathOnDataStore``); ``Schedule.list`` reads ``GET Schedules?activeOnly=``; ``disable()``/``enable()`` GET
the ``PipelineScheduleEntity``, change ``EntityStatus`` and PUT it back to ``Schedules/{id}``, then may poll
``ProvisioningStatus`` (``Provisioning`` -> ``Completed`` or ``Failed``) until it leaves ``Provisioning``.
The emulator keeps a changed schedule ``Provisioning`` for its LRO time, the less convenient of the two
answers the client is written for. Schedules are recorded, not fired: the scheduling this project offers
runs in Airflow.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_batchml_emulator.handlers import aeva, pipeline_endpoints, pipelines
from airflow_batchml_emulator.handlers.common import EmulatorContext, JsonBody, arm_json, ctx_of
from airflow_batchml_emulator.state import Resource

KIND = "pipelineSchedules"
_TYPES = {"0": "Recurrence", "recurrence": "Recurrence", "1": "DataStore", "datastore": "DataStore"}
_FREQUENCIES = ("Month", "Week", "Day", "Hour", "Minute")
_FIELDS = ("Name", "PipelineId", "PipelineEndpointId", "PipelineSubmissionInfo", "Recurrence", "DataStoreTriggerInfo")


def create_schedule(request: Request, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    record = _checked(ctx, aeva.json_object(body, "a schedule"))
    resource, _ = ctx.store.put(
        KIND, f"{KIND}/{aeva.new_id()}", {**record, "status": aeva.ACTIVE, **_provisioning(ctx)}
    )
    return arm_json(schedule_entity(resource))


def list_schedules(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    active_only = aeva.active_only(request)
    items = [schedule_entity(item) for item in ctx.store.list(KIND)]
    return arm_json([item for item in items if not active_only or item["EntityStatus"] == aeva.ACTIVE])


def list_pipeline_schedules(request: Request, pipeline_id: str) -> JSONResponse:
    """``Schedules/Pipeline/{id}``: every schedule of one published pipeline, whatever its status."""
    ctx = ctx_of(request)
    pipelines.require_pipeline(ctx, pipeline_id)
    return arm_json([schedule_entity(item) for item in ctx.store.list(KIND) if item.body["PipelineId"] == pipeline_id])


def get_schedule(request: Request, schedule_id: str) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json(schedule_entity(require_schedule(ctx, schedule_id)))


def put_schedule(request: Request, schedule_id: str, body: JsonBody = None) -> JSONResponse:
    """The whole entity comes back with its changes; the schedule stays on its pipeline."""
    ctx = ctx_of(request)
    schedule = require_schedule(ctx, schedule_id)
    body = aeva.json_object(body, f"schedule {schedule_id}")
    status = aeva.entity_status(body.get("EntityStatus", schedule.body["status"]), "EntityStatus")
    merged = {**{key: schedule.body.get(key) for key in _FIELDS}, **{k: v for k, v in body.items() if k in _FIELDS}}
    merged |= {"PipelineId": schedule.body["PipelineId"], "PipelineEndpointId": schedule.body["PipelineEndpointId"]}
    merged["ScheduleType"] = schedule.body["ScheduleType"]
    record = _checked(ctx, merged)
    resource, _ = ctx.store.put(KIND, schedule.path, {**record, "status": status, **_provisioning(ctx)})
    return arm_json(schedule_entity(resource))


def require_schedule(ctx: EmulatorContext, schedule_id: str) -> Resource:
    schedule = ctx.store.get(KIND, f"{KIND}/{schedule_id}")
    if schedule is None:
        raise aeva.not_found("Schedule", schedule_id)
    return schedule


def schedule_entity(resource: Resource) -> dict[str, Any]:
    """A ``PipelineScheduleEntity`` (models/pipeline_schedule_entity.py)."""
    record = resource.body
    provisioning = "Provisioning" if time.time() < record.get("provisioned_at", 0) else "Completed"
    fields = {key: record.get(key) for key in _FIELDS}
    return aeva.entity(resource, {**fields, "ScheduleType": record["ScheduleType"], "ProvisioningStatus": provisioning})


def _provisioning(ctx: EmulatorContext) -> dict[str, float]:
    return {"provisioned_at": time.time() + ctx.lro_seconds}


def _checked(ctx: EmulatorContext, body: dict[str, Any]) -> dict[str, Any]:
    """The schedule fields of ``body``, each checked; errors name the field."""
    if not isinstance(body.get("Name"), str) or not body["Name"]:
        raise aeva.bad_request("The field 'Name' is required for a schedule.")
    pipeline_id, endpoint_id = body.get("PipelineId"), body.get("PipelineEndpointId")
    if bool(pipeline_id) == bool(endpoint_id):
        raise aeva.bad_request("A schedule needs exactly one of 'PipelineId' and 'PipelineEndpointId'.")
    if pipeline_id:
        pipelines.require_pipeline(ctx, pipeline_id)
    else:
        pipeline_endpoints.require_endpoint(ctx, endpoint_id)
    submission = body.get("PipelineSubmissionInfo")
    if not isinstance(submission, dict) or not submission.get("ExperimentName"):
        raise aeva.bad_request("The field 'PipelineSubmissionInfo.ExperimentName' is required for a schedule.")
    schedule_type = _TYPES.get(str(body.get("ScheduleType", "0")).lower())
    if schedule_type is None:
        raise aeva.bad_request(f"ScheduleType must be 0 (Recurrence) or 1 (DataStore); got {body['ScheduleType']!r}.")
    record = {key: body.get(key) for key in _FIELDS} | {"ScheduleType": schedule_type}
    if schedule_type == "Recurrence":
        _check_recurrence(body.get("Recurrence"))
        record["DataStoreTriggerInfo"] = None
    else:
        _check_datastore_trigger(body.get("DataStoreTriggerInfo"))
        record["Recurrence"] = None
    return record


def _check_recurrence(recurrence: Any) -> None:
    if not isinstance(recurrence, dict) or recurrence.get("Frequency") not in _FREQUENCIES:
        raise aeva.bad_request(f"Recurrence.Frequency must be one of {', '.join(_FREQUENCIES)}.")
    interval = recurrence.get("Interval")
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise aeva.bad_request(f"Recurrence.Interval must be a positive integer; got {interval!r}.")


def _check_datastore_trigger(trigger: Any) -> None:
    if not isinstance(trigger, dict) or not trigger.get("DataStoreName"):
        raise aeva.bad_request("DataStoreTriggerInfo.DataStoreName is required for a datastore schedule.")
