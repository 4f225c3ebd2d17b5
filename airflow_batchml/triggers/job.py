"""AzureMLJobTrigger: wait for an Azure ML job in the triggerer, without holding a worker slot.

The deadline is an absolute ``end_time`` (epoch seconds) so a trigger re-created after a triggerer restart
keeps the operator's timeout. A few transient errors in a row (throttling, 5xx, dropped connections) are
tolerated; a permanent error, a terminal status or the deadline ends the wait with one event. When a
user kills, clears or marks the waiting task, and the operator asked for it, the job is cancelled too;
a triggerer shutdown, restart or redistribution leaves it running for the next triggerer.

Airflow 3.3 tells the two apart itself and calls ``on_kill()`` for user actions only. Older triggerers
only cancel ``run()``; there the trigger asks for the task's state before cancelling the job. That
question goes through the triggerer's supervisor, which no longer answers once it is shutting down, so
on 3.3 it is not asked at all: it held every triggerer shutdown until the supervisor killed the runner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_batchml.exceptions import AzureMLError
from airflow_batchml.hooks.azure_ml_async import AzureMLAsyncHook, AzureMLTransientError
from airflow_batchml.hooks.job_status import STOPPED_HINT, AzureMLJobStatus, log_status_change

#: Airflow >= 3.3 calls ``BaseTrigger.on_kill()`` when, and only when, a user stops the deferred task.
TRIGGERER_CALLS_ON_KILL = hasattr(BaseTrigger, "on_kill")


class AzureMLJobTrigger(BaseTrigger):
    """Poll one job until it ends, fails, pauses, or ``end_time`` passes.

    ``Paused`` ends the wait with an ``error`` event (the job is left paused); ``NotResponding`` does not,
    and is logged as a warning when the job enters it.

    :param job_name: The Azure ML job to wait for.
    :param azure_ml_conn_id: The ``azure_ml`` connection.
    :param end_time: Absolute deadline (epoch seconds); None waits as long as the job runs.
    :param poll_interval: Seconds between status reads.
    :param cancel_on_timeout: Cancel the job when the deadline passes.
    :param cancel_on_kill: Cancel the job when the waiting task is killed or cleared.
    :param max_consecutive_errors: Transient errors in a row tolerated before giving up.
    """

    def __init__(
        self,
        job_name: str,
        azure_ml_conn_id: str = "azure_ml_default",
        end_time: float | None = None,
        poll_interval: float = 30,
        cancel_on_timeout: bool = True,
        cancel_on_kill: bool = True,
        max_consecutive_errors: int = 5,
    ) -> None:
        super().__init__()
        self.job_name = job_name
        self.azure_ml_conn_id = azure_ml_conn_id
        self.end_time = end_time
        self.poll_interval = poll_interval
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.max_consecutive_errors = max_consecutive_errors

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_name": self.job_name,
                "azure_ml_conn_id": self.azure_ml_conn_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "cancel_on_timeout": self.cancel_on_timeout,
                "cancel_on_kill": self.cancel_on_kill,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            async with AzureMLAsyncHook(self.azure_ml_conn_id) as hook:
                try:
                    yield TriggerEvent(await self._wait(hook))
                except asyncio.CancelledError:
                    if self.cancel_on_kill and not TRIGGERER_CALLS_ON_KILL and await self._task_was_stopped():
                        self.log.info("Task stopped while waiting; cancelling job %s", self.job_name)
                        await asyncio.shield(hook.cancel_job(self.job_name))
                    raise
        except AzureMLError as err:
            yield TriggerEvent(self._event("error", None, str(err)))

    async def on_kill(self) -> None:
        """A user killed, cleared or marked the waiting task (Airflow >= 3.3): cancel the job if asked to."""
        if not self.cancel_on_kill:
            return
        self.log.info("Task stopped while waiting; cancelling job %s", self.job_name)
        async with AzureMLAsyncHook(self.azure_ml_conn_id) as hook:
            await hook.cancel_job(self.job_name)

    async def _wait(self, hook: AzureMLAsyncHook) -> dict[str, Any]:
        """Poll until a terminal status, the deadline, or too many transient errors in a row.

        The first read waits one interval: the operator read the status just before deferring, and firing
        at once widens an Airflow 3.3 race (apache/airflow#72716: the scheduler can fail a resumed task
        when it reads the deferring process's exit after the trigger fired). Waiting narrows it, it cannot
        close it; task retries, which attach to the same job, are what make a task survive it.
        """
        last_status, errors = None, 0
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                status = await hook.get_job_status(self.job_name)
                errors = 0
            except AzureMLTransientError as err:
                errors += 1
                if errors > self.max_consecutive_errors:
                    return self._event("error", last_status, f"gave up after {errors} errors in a row: {err}")
                self.log.warning(
                    "Transient error %d/%d reading %s: %s", errors, self.max_consecutive_errors, self.job_name, err
                )
                status = last_status
            log_status_change(self.log, self.job_name, status, last_status)
            last_status = status
            if status in AzureMLJobStatus.SUCCESS_STATUSES:
                return self._event("success", status, f"Job {self.job_name} completed")
            if status in AzureMLJobStatus.FAILURE_STATUSES:
                return self._event("error", status, f"Job {self.job_name} ended {status}")
            if status in AzureMLJobStatus.STOPPED_STATUSES:
                return self._event("error", status, f"Job {self.job_name} is {status}: {STOPPED_HINT}")
            if self.end_time is not None and time.time() >= self.end_time:
                if self.cancel_on_timeout:
                    await hook.cancel_job(self.job_name)
                return self._event("timeout", status, f"Job {self.job_name} did not finish before the deadline")

    def _event(self, outcome: str, job_status: str | None, message: str) -> dict[str, Any]:
        return {"status": outcome, "job_name": self.job_name, "job_status": job_status, "message": message}

    async def _task_was_stopped(self) -> bool:
        """True when the waiting task is no longer deferred (killed, cleared, marked), not just re-homed."""
        ti = self.task_instance
        if ti is None:
            return False
        try:
            from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
            from asgiref.sync import sync_to_async

            states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
                dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
            )
        except Exception as err:  # no answer: leaving the job running is the safe side
            self.log.warning("Could not read the state of the waiting task: %s", type(err).__name__)
            return False
        key = ti.task_id if ti.map_index is None or ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
        state = states.get(ti.run_id, {}).get(key)
        return state is not None and state != "deferred"
