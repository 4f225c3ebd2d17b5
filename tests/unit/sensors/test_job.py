"""AzureMLJobSensor's poke: which statuses end the wait, and what is logged on the way."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from airflow_batchml.exceptions import AzureMLJobError
from airflow_batchml.sensors.job import AzureMLJobSensor


class Hook:
    def __init__(self) -> None:
        self.status = "Running"

    def get_job(self, job_name: str) -> dict:
        return {"job_name": job_name, "status": self.status, "error": None, "studio_url": None}


@pytest.fixture
def sensor():
    sensor = AzureMLJobSensor(task_id="watch", job_name="j1")
    sensor.__dict__["hook"] = Hook()
    return sensor


def test_a_paused_job_fails_the_sensor_naming_the_status(sensor):
    sensor.hook.status = "Paused"
    with pytest.raises(AzureMLJobError, match="job j1 is Paused: the job does not go on until it is resumed"):
        sensor.poke({})


def test_not_responding_keeps_poking_with_one_warning_per_change(sensor):
    with capture_logs() as logs:
        for status in ("Running", "NotResponding", "NotResponding", "Running", "NotResponding"):
            sensor.hook.status = status
            assert sensor.poke({}) is False
    warnings = [log["event"] for log in logs if log["log_level"] == "warning"]
    assert len(warnings) == 2 and all("NotResponding" in event for event in warnings)
