"""Waiting for an Azure ML job from an operator or sensor: one status check, then defer or poll.

Shared by every task that waits on a job (batch scoring, published pipelines, the job sensor) so the
deadline, cancel-on-kill and failure messages behave the same everywhere. The deadline is absolute
(``end_time``) and travels into the trigger, so a triggerer restart does not extend it.

Airflow runs a task at least once, and Azure ML names jobs itself, so the job a task started is kept in
its ``task_state_store`` right after submission (Airflow 3.3's ``ResumableJobMixin`` pattern): a retry,
a cleared task or a re-run after a crash attaches to it while it runs or once it completed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLJobError
from airflow_batchml.hooks.job_status import STOPPED_HINT, AzureMLJobStatus, log_status_change
from airflow_batchml.links import JOB_XCOM_KEY, persist_job_link, studio_job_url
from airflow_batchml.operators.base import AzureMLHookMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

#: The task_state_store key of the submitted job; renaming it strands the jobs of tasks in flight.
JOB_STATE_KEY = "azure_ml_job"


def seconds(value: float | timedelta | None, field: str) -> float | None:
    """Accept seconds or a timedelta; reject negative or non-numeric values naming ``field``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise AzureMLConfigurationError(field, f"{value!r} is not a number of seconds >= 0")
    return float(value)


def carried_from_xcom(context: Context) -> dict[str, Any]:
    # This task instance's own XCom: without map_indexes, Airflow 3.3 returns every mapped instance's.
    ti = context["ti"]
    value = ti.xcom_pull(task_ids=ti.task_id, key=JOB_XCOM_KEY, map_indexes=ti.map_index) or {}
    return {key: item for key, item in value.items() if key not in ("job_name", "studio_url")}


class AzureMLJobWaitMixin(AzureMLHookMixin):
    """Wait on ``job_name`` in the worker (poll) or the triggerer (defer); needs the attributes below."""

    wait_for_completion: bool
    poll_interval: float
    job_timeout: float | None
    deferrable: bool
    cancel_on_kill: bool
    cancel_on_timeout: bool
    waits_in_trigger: bool = False  # set when the wait is handed to the trigger
    job_name: str | None
    log: Any

    def configure_wait(
        self,
        *,
        wait_for_completion: bool,
        deferrable: bool,
        poll_interval: float,
        timeout: float | timedelta | None,
        cancel_on_timeout: bool,
        cancel_on_kill: bool,
        azure_ml_conn_id: str,
    ) -> None:
        """Set (and check) the waiting arguments every job-starting operator takes, in ``__init__``."""
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = seconds(poll_interval, "poll_interval") or 0.0
        self.job_timeout = seconds(timeout, "timeout")
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.azure_ml_conn_id = azure_ml_conn_id

    def attach_or_submit(self, context: Context, submit: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The job an earlier try started when it runs or completed, else ``submit()``'s, saved at once.

        ``submit`` returns a dict with the service's ``job_name``; all of it is kept, so an attach returns
        what the submission returned (output location, deployment) with the job's current status.
        """
        store = context.get("task_state_store")
        if store is None:
            self.log.warning("No task_state_store: a retry can find its job only by the job's output location")
        saved = store.get(JOB_STATE_KEY) if store is not None else None
        if isinstance(saved, dict) and saved.get("job_name"):
            job = self.hook.find_job(saved["job_name"])
            if job is not None and job["status"] not in AzureMLJobStatus.FAILURE_STATUSES:
                self.log.info("Attaching to job %s (%s) that an earlier try started", job["job_name"], job["status"])
                return {**saved, "status": job["status"], "attached": True}
            self.log.info("Job %s of an earlier try is %s; submitting again", saved["job_name"], job and job["status"])
        submitted = submit()
        if store is not None:
            store.set(JOB_STATE_KEY, submitted)
        return submitted

    def publish_job(self, context: Context, job_name: str, carry: dict[str, Any] | None = None) -> None:
        """Remember the job (for on_kill), offer its studio link at once, and keep ``carry`` for the resume."""
        self.job_name = job_name
        persist_job_link(context, job_name, studio_job_url(self.hook.settings, job_name), carry or {})

    def wait_for_job(self, context: Context, job_name: str, carry: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the finished job's state, or defer; raise AzureMLJobError when it fails, pauses or times out.

        A ``Paused`` job ends the wait as a failure naming the status (the job stays paused and a retry
        attaches to it); a ``NotResponding`` one is waited on, up to the timeout, with a warning.

        ``carry`` holds what the result needs beyond the job (e.g. the deployment chosen at submission); the
        operator resumes as a fresh instance, so it travels in the defer kwargs and, because ``dags test``
        drops those, in the job XCom that :meth:`publish_job` pushed.
        """
        end_time = time.time() + self.job_timeout if self.job_timeout is not None else None
        job = self.hook.get_job(job_name)
        if job["status"] in AzureMLJobStatus.WAIT_OVER_STATUSES:
            return self._finished(job, carry)
        if self.deferrable:
            # Imported here: the trigger brings the async hook, which DAG parsing never needs.
            from airflow_batchml.triggers.job import AzureMLJobTrigger

            # From here the trigger owns the wait (and the cancel on a user kill): a SIGTERM that reaches this
            # process while it hands over (say, the executor shutting down) must not cancel the job.
            self.waits_in_trigger = True
            self.defer(  # type: ignore[attr-defined]
                trigger=AzureMLJobTrigger(
                    job_name=job_name,
                    azure_ml_conn_id=self.azure_ml_conn_id,
                    end_time=end_time,
                    poll_interval=self.poll_interval,
                    cancel_on_timeout=self.cancel_on_timeout,
                    cancel_on_kill=self.cancel_on_kill,
                ),
                method_name="execute_complete",
                kwargs={"carry": carry},
            )
        return self._poll(job, end_time, carry)

    def _poll(self, job: dict[str, Any], end_time: float | None, carry: dict[str, Any] | None) -> dict[str, Any]:
        status = None
        while True:
            log_status_change(self.log, job["job_name"], job["status"], status)
            status = job["status"]
            if status in AzureMLJobStatus.WAIT_OVER_STATUSES:
                return self._finished(job, carry)
            if end_time is not None and time.time() >= end_time:
                return self._timed_out(job)
            time.sleep(self.poll_interval)
            job = self.hook.get_job(job["job_name"])

    def execute_complete(
        self, context: Context, event: dict[str, Any], carry: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger: re-read the job so the result carries its final state and error."""
        job_name = event["job_name"]
        carry = carry or carried_from_xcom(context)
        if event["status"] == "timeout":
            raise AzureMLJobError(job_name, event.get("job_status") or "?", event["message"])
        if event["status"] == "error" and event.get("job_status") is None:
            raise AzureMLJobError(job_name, "unknown", event["message"])
        return self._finished(self.hook.get_job(job_name), carry)

    def _timed_out(self, job: dict[str, Any]) -> dict[str, Any]:
        if self.cancel_on_timeout:
            self.hook.cancel_job(job["job_name"])
        raise AzureMLJobError(job["job_name"], job["status"], f"did not finish within {self.job_timeout:g} s")

    def _finished(self, job: dict[str, Any], carry: dict[str, Any] | None = None) -> dict[str, Any]:
        if job["status"] in AzureMLJobStatus.SUCCESS_STATUSES:
            self.log.info("Job %s completed", job["job_name"])
            return {**self.job_result(job), **(carry or {})}
        message = job.get("error") or "no error message was recorded"
        if job["status"] in AzureMLJobStatus.STOPPED_STATUSES:
            message = STOPPED_HINT
        raise AzureMLJobError(
            job["job_name"], job["status"], f"{message} (see {job.get('studio_url') or 'the job log'})"
        )

    def job_result(self, job: dict[str, Any]) -> dict[str, Any]:
        """What the task returns (XCom) for a completed job; operators add their own fields."""
        return {"job_name": job["job_name"], "status": job["status"]}

    def on_kill(self) -> None:
        """Cancel the job a killed task was waiting for, when asked to (the deferred path: the trigger)."""
        if self.job_name and self.cancel_on_kill and not self.waits_in_trigger:
            self.log.info("Task killed; cancelling job %s", self.job_name)
            self.hook.cancel_job(self.job_name)
