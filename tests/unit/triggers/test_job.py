from __future__ import annotations

import asyncio

import pytest

from airflow_batchml.triggers import job as job_trigger
from airflow_batchml.triggers.job import AzureMLJobTrigger


def test_serialize_round_trips_every_constructor_argument():
    trigger = AzureMLJobTrigger(
        job_name="j1",
        azure_ml_conn_id="c",
        end_time=123.5,
        poll_interval=2,
        cancel_on_timeout=False,
        cancel_on_kill=False,
        max_consecutive_errors=3,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_batchml.triggers.job.AzureMLJobTrigger"
    again = AzureMLJobTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert kwargs["end_time"] == 123.5


class RecordingAsyncHook:
    """Stands in for AzureMLAsyncHook: a job that stays Running, and a record of status reads and cancels."""

    cancelled: list[str] = []
    polled: list[str] = []

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    async def get_job_status(self, job_name: str) -> str:
        self.polled.append(job_name)
        return "Running"

    async def cancel_job(self, job_name: str) -> None:
        self.cancelled.append(job_name)


@pytest.fixture
def recording_hook(monkeypatch):
    RecordingAsyncHook.cancelled = []
    RecordingAsyncHook.polled = []
    monkeypatch.setattr(job_trigger, "AzureMLAsyncHook", RecordingAsyncHook)
    return RecordingAsyncHook


@pytest.mark.parametrize(("cancel_on_kill", "expected"), [(True, ["j1"]), (False, [])])
async def test_on_kill_cancels_the_job_only_when_asked(recording_hook, cancel_on_kill, expected):
    await AzureMLJobTrigger(job_name="j1", cancel_on_kill=cancel_on_kill).on_kill()

    assert recording_hook.cancelled == expected


async def test_triggerer_shutdown_leaves_the_job_running_without_asking_the_task_state(recording_hook, monkeypatch):
    """Airflow 3.3 cancels run() on shutdown and calls on_kill() only for user actions."""
    assert job_trigger.TRIGGERER_CALLS_ON_KILL

    async def no_state_query():
        raise AssertionError("the supervisor does not answer during shutdown")

    trigger = AzureMLJobTrigger(job_name="j1", poll_interval=0)
    monkeypatch.setattr(trigger, "_task_was_stopped", no_state_query)
    task = asyncio.ensure_future(anext(trigger.run()))
    while not recording_hook.polled:  # cancel a trigger that is really waiting on the job
        await asyncio.sleep(0)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert recording_hook.cancelled == []
