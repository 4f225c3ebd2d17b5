"""Waiting on a job in the worker: which statuses end the wait, and what is logged on the way."""

from __future__ import annotations

import logging

import pytest

from airflow_batchml.exceptions import AzureMLJobError
from airflow_batchml.operators.job_wait import AzureMLJobWaitMixin

NOT_RESPONDING_WARNING = "Job j1 is NotResponding: Azure ML lost contact with its nodes; waiting on until the timeout"


class ScriptedHook:
    """A job whose statuses follow a script (the last one repeats), and a record of cancels."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.reads = 0
        self.cancelled: list[str] = []

    def get_job(self, job_name: str) -> dict:
        status = self.statuses[min(self.reads, len(self.statuses) - 1)]
        self.reads += 1
        return {"job_name": job_name, "status": status, "error": None, "studio_url": "https://studio/j1"}

    def cancel_job(self, job_name: str) -> None:
        self.cancelled.append(job_name)


class Waiter(AzureMLJobWaitMixin):
    def __init__(self, hook: ScriptedHook, *, timeout: float | None = None, deferrable: bool = False) -> None:
        self.configure_wait(
            wait_for_completion=True,
            deferrable=deferrable,
            poll_interval=0,
            timeout=timeout,
            cancel_on_timeout=True,
            cancel_on_kill=True,
            azure_ml_conn_id="azure_ml_default",
        )
        self.job_name = None
        self.log = logging.getLogger("waiter")
        self.__dict__["hook"] = hook

    def defer(self, **kwargs):  # pragma: no cover - a test failure if reached
        pytest.fail("deferred a wait that was already over")


@pytest.mark.parametrize(
    ("statuses", "deferrable"), [(("Paused",), False), (("Running", "Paused"), False), (("Paused",), True)]
)
def test_a_paused_job_fails_the_task_naming_the_status_and_is_left_as_it_is(statuses, deferrable):
    hook = ScriptedHook(*statuses)
    with pytest.raises(AzureMLJobError, match=r"job j1 is Paused: the job does not go on until it is resumed") as err:
        Waiter(hook, deferrable=deferrable).wait_for_job({}, "j1")
    assert err.value.status == "Paused"
    assert hook.cancelled == []


def test_a_resumed_wait_on_a_paused_job_fails_naming_the_status():
    event = {"status": "error", "job_name": "j1", "job_status": "Paused", "message": "Job j1 is Paused"}
    with pytest.raises(AzureMLJobError, match="is Paused"):
        Waiter(ScriptedHook("Paused")).execute_complete({}, event, carry={"x": 1})


def test_not_responding_is_waited_on_with_one_warning_per_change(caplog):
    hook = ScriptedHook("Running", "NotResponding", "NotResponding", "Running", "NotResponding", "Completed")
    with caplog.at_level(logging.INFO, logger="waiter"):
        result = Waiter(hook).wait_for_job({}, "j1")

    assert result["status"] == "Completed"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [NOT_RESPONDING_WARNING] * 2


def test_a_job_that_stays_not_responding_times_out_and_is_cancelled():
    hook = ScriptedHook("NotResponding")
    with pytest.raises(AzureMLJobError, match="NotResponding: did not finish within 0 s"):
        Waiter(hook, timeout=0).wait_for_job({}, "j1")
    assert hook.cancelled == ["j1"]
