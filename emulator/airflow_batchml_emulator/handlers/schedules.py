"""Schedules: stored definitions with ``isEnabled``; listing filters on it like ``listViewType`` asks.

The emulator records schedules (the plugin creates, lists, enables and disables them) but does not fire
them: the change-based scheduling the project is about runs in Airflow, not here. Creates, re-PUTs (enable,
disable) and deletes are long-running operations of the management front end, a re-PUT answering 201 as
recorded (schedule/e2etests/test_schedule.pyTestScheduletest_schedule_lifetime.json, ``lro.py``). The same
recording deletes an enabled schedule: the DELETE is accepted (202) and its operation then fails with
``UserError`` "Cannot delete an active trigger", the schedule left as it was; it must be disabled first.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml_emulator import lro
from airflow_batchml_emulator.errors import BadRequest, NotFound
from airflow_batchml_emulator.handlers.common import (
    EmulatorContext,
    JsonBody,
    arm_json,
    arm_resource,
    ctx_of,
    page,
    properties_of,
)
from airflow_batchml_emulator.state import Resource

KIND = "schedules"
_VIEWS = {"enabledonly": True, "disabledonly": False, "all": None}


def put_schedule(request: Request, name: str, body: JsonBody = None) -> JSONResponse:
    ctx = ctx_of(request)
    properties = dict(properties_of(body, f"schedule {name}"))
    for field_name in ("action", "trigger"):
        if not isinstance(properties.get(field_name), dict):
            raise BadRequest(f"The field 'properties.{field_name}' is required for schedule {name}.")
    properties.pop("provisioningState", None)
    properties["isEnabled"] = bool(properties.get("isEnabled", True))
    stored = {**body, "properties": properties}
    return lro.create_or_update(ctx, request, KIND, f"{KIND}/{name}", stored, lambda item: _serialise(ctx, item))


def get_schedule(request: Request, name: str) -> JSONResponse:
    ctx = ctx_of(request)
    schedule = ctx.store.get(KIND, f"{KIND}/{name}")
    if schedule is None:  # as recorded: UserError, inner NotFound
        raise NotFound(f"Resource Trigger {name} not found", inner=("NotFound",))
    return arm_json(_serialise(ctx, schedule))


def list_schedules(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    view = request.query_params.get("listViewType", "EnabledOnly")
    if view.lower() not in _VIEWS:
        raise BadRequest(f"listViewType must be one of EnabledOnly, DisabledOnly, All; got {view}.")
    wanted = _VIEWS[view.lower()]
    items = [
        _serialise(ctx, item)
        for item in ctx.store.list(KIND)
        if wanted is None or item.body["properties"]["isEnabled"] is wanted
    ]
    return arm_json(page(items))


def delete_schedule(request: Request, name: str) -> Response:
    ctx = ctx_of(request)
    path = f"{KIND}/{name}"
    schedule = ctx.store.get(KIND, path)
    if schedule is not None and schedule.body["properties"]["isEnabled"]:
        refusal = {"code": "UserError", "message": "Cannot delete an active trigger."}
        return lro.deleted(ctx, request, KIND, True, refusal)
    return lro.deleted(ctx, request, KIND, ctx.store.delete(KIND, path))


def _serialise(ctx: EmulatorContext, resource: Resource) -> dict[str, Any]:
    body = arm_resource(ctx, resource, KIND)
    body["properties"] = {**body["properties"], "provisioningState": lro.provisioning_state(ctx, KIND, resource.path)}
    return body
