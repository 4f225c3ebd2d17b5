"""Schedules: create, list by enabled state, disable, delete, through the real azure-ai-ml client.

As recorded (schedule/e2etests/test_schedule.pyTestScheduletest_schedule_lifetime.json), Azure ML accepts
the DELETE of an enabled schedule and then fails its operation ("Cannot delete an active trigger"); a
schedule is disabled before it is deleted, which the provider's hook does by itself.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from airflow_batchml.hooks.azure_ml import AzureMLHook

pytestmark = pytest.mark.integration


def _create(ml_client, name: str):
    from azure.ai.ml.entities import JobSchedule, RecurrenceTrigger

    schedule = JobSchedule(
        name=name, trigger=RecurrenceTrigger(frequency="minute", interval=15), create_job="azureml:job1"
    )
    return ml_client.schedules.begin_create_or_update(schedule).result()


def test_schedule_lifecycle(ml_client):
    from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType

    created = _create(ml_client, "every-15-min")
    assert created.is_enabled
    assert "every-15-min" in [item.name for item in ml_client.schedules.list()]
    ml_client.schedules.begin_disable("every-15-min").result()
    assert not ml_client.schedules.get("every-15-min").is_enabled
    assert "every-15-min" not in [item.name for item in ml_client.schedules.list()]
    everything = ml_client.schedules.list(list_view_type=ScheduleListViewType.ALL)
    assert "every-15-min" in [item.name for item in everything]
    ml_client.schedules.begin_enable("every-15-min").result()
    assert ml_client.schedules.get("every-15-min").is_enabled
    ml_client.schedules.begin_disable("every-15-min").result()
    ml_client.schedules.begin_delete("every-15-min").result()
    with pytest.raises(ResourceNotFoundError):
        ml_client.schedules.get("every-15-min")


def test_an_enabled_schedule_is_not_deleted(ml_client):
    name = f"active-{uuid.uuid4().hex[:8]}"
    _create(ml_client, name)
    with pytest.raises(HttpResponseError, match="Cannot delete an active trigger"):
        ml_client.schedules.begin_delete(name).result()
    assert ml_client.schedules.get(name).is_enabled  # left as it was


def test_the_hook_disables_an_enabled_schedule_then_deletes_it(ml_client, emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_ML_DEFAULT", emulator.connection_json.read_text())
    name = f"hook-delete-{uuid.uuid4().hex[:8]}"
    _create(ml_client, name)
    AzureMLHook(polling_interval=0.5).delete_schedule(name)
    with pytest.raises(ResourceNotFoundError):
        ml_client.schedules.get(name)
