"""AzureMLJobSensor: wait for any Azure ML job (one started elsewhere, a scheduled one, a pipeline run)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, conf

from airflow_batchml.exceptions import AzureMLJobError
from airflow_batchml.hooks.job_status import STOPPED_HINT, AzureMLJobStatus, log_status_change
from airflow_batchml.links import AzureMLJobLink
from airflow_batchml.names import check_name
from airflow_batchml.operators.job_wait import AzureMLJobWaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class AzureMLJobSensor(AzureMLJobWaitMixin, BaseSensorOperator):
    """Succeed when the job completes; fail with the job's error when it fails, is cancelled or is paused.

    A ``Paused`` job fails the sensor naming the status (the job is left paused); ``NotResponding`` is
    waited on, up to the sensor's timeout, with a warning when the job enters it.

    :param job_name: The job to watch. (templated)
    :param deferrable: Wait in the triggerer.
    :param cancel_on_timeout: Cancel the job when the sensor times out (off: the job is not the sensor's).
    """

    template_fields: Sequence[str] = ("job_name", "azure_ml_conn_id")
    operator_extra_links = (AzureMLJobLink(),)
    ui_color = "#0078d4"

    def __init__(
        self,
        *,
        job_name: str,
        azure_ml_conn_id: str = "azure_ml_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_timeout: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.azure_ml_conn_id = azure_ml_conn_id
        self.deferrable = deferrable
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = False
        self.job_timeout = self.timeout
        self.poll_interval = self.poke_interval
        self.last_status: str | None = None

    def execute(self, context: Context) -> Any:
        check_name("job", self.job_name, "job_name")
        self.publish_job(context, self.job_name)
        if self.deferrable:
            return self.wait_for_job(context, self.job_name)
        return super().execute(context)

    def poke(self, context: Context) -> bool:
        job = self.hook.get_job(self.job_name)
        log_status_change(self.log, self.job_name, job["status"], self.last_status)
        self.last_status = job["status"]
        if job["status"] in AzureMLJobStatus.FAILURE_STATUSES:
            raise AzureMLJobError(self.job_name, job["status"], job.get("error") or "no error message was recorded")
        if job["status"] in AzureMLJobStatus.STOPPED_STATUSES:
            raise AzureMLJobError(self.job_name, job["status"], STOPPED_HINT)
        return job["status"] in AzureMLJobStatus.SUCCESS_STATUSES
