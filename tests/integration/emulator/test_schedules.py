"""Schedules: create, list by enabled state, disable, delete, through the real azure-ai-ml client."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

pytestmark = pytest.mark.integration


def test_schedule_lifecycle(ml_client):
    from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
    from azure.ai.ml.entities import JobSchedule, RecurrenceTrigger

    schedule = JobSchedule(
        name="every-15-min",
        trigger=RecurrenceTrigger(frequency="minute", interval=15),
        create_job="azureml:job1",
    )
    created = ml_client.schedules.begin_create_or_update(schedule).result()
    assert created.is_enabled
    assert "every-15-min" in [item.name for item in ml_client.schedules.list()]
    ml_client.schedules.begin_disable("every-15-min").result()
    assert not ml_client.schedules.get("every-15-min").is_enabled
    assert "every-15-min" not in [item.name for item in ml_client.schedules.list()]
    everything = ml_client.schedules.list(list_view_type=ScheduleListViewType.ALL)
    assert "every-15-min" in [item.name for item in everything]
    ml_client.schedules.begin_enable("every-15-min").result()
    assert ml_client.schedules.get("every-15-min").is_enabled
    ml_client.schedules.begin_delete("every-15-min").result()
    with pytest.raises(ResourceNotFoundError):
        ml_client.schedules.get("every-15-min")
