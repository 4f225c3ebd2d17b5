from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

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


class ScriptedAsyncHook(RecordingAsyncHook):
    """A job whose statuses follow a script; the last one repeats."""

    script: list[str] = []

    async def get_job_status(self, job_name: str) -> str:
        self.polled.append(job_name)
        return self.script[min(len(self.polled), len(self.script)) - 1]


@pytest.fixture
def scripted_hook(recording_hook, monkeypatch):
    monkeypatch.setattr(job_trigger, "AzureMLAsyncHook", ScriptedAsyncHook)
    ScriptedAsyncHook.polled, ScriptedAsyncHook.cancelled = [], []
    return ScriptedAsyncHook


async def test_a_paused_job_ends_the_wait_without_being_cancelled(scripted_hook):
    scripted_hook.script = ["Running", "Paused"]
    event = await anext(AzureMLJobTrigger(job_name="j1", poll_interval=0).run())

    assert (event.payload["status"], event.payload["job_status"]) == ("error", "Paused")
    assert "resumed" in event.payload["message"]
    assert scripted_hook.cancelled == []


async def test_not_responding_is_waited_on_with_one_warning_per_change(scripted_hook):
    scripted_hook.script = ["Running", "NotResponding", "NotResponding", "Running", "NotResponding", "Completed"]
    with capture_logs() as logs:
        event = await anext(AzureMLJobTrigger(job_name="j1", poll_interval=0).run())

    assert event.payload["status"] == "success"
    warnings = [log["event"] for log in logs if log["log_level"] == "warning"]
    assert (
        warnings == ["Job j1 is NotResponding: Azure ML lost contact with its nodes; waiting on until the timeout"] * 2
    )


async def test_a_job_that_stays_not_responding_times_out(scripted_hook):
    scripted_hook.script = ["NotResponding"]
    event = await anext(AzureMLJobTrigger(job_name="j1", poll_interval=0, end_time=0).run())

    assert (event.payload["status"], event.payload["job_status"]) == ("timeout", "NotResponding")
    assert scripted_hook.cancelled == ["j1"]
