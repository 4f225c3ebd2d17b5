"""Run a published (SDK v1) pipeline through its REST endpoint and optionally wait for the run.

The service names the run; a retried task attaches to the run it kept in ``task_state_store``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from airflow_batchml.links import AzureMLJobLink
from airflow_batchml.operators.job_wait import AzureMLJobWaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class AzureMLRunPublishedPipelineOperator(AzureMLJobWaitMixin, BaseOperator):
    """POST to a published pipeline's REST endpoint, then (optionally) wait for the run.

    :param rest_endpoint: The pipeline's REST endpoint (``PublishedPipeline.endpoint``). (templated)
    :param experiment_name: Experiment to file the run under. (templated)
    :param parameter_assignments: Pipeline parameter values. (templated)
    :param data_path_assignments: Data-path parameters: ``{"name": "azureml://datastores/<ds>/paths/<p>"}``
        or ``{"name": {"datastore": ..., "path": ...}}``. (templated)
    :param wait_for_completion: Wait for the run to finish.
    :param deferrable: Wait in the triggerer.
    :param poll_interval: Seconds between status checks.
    :param timeout: Longest wait (seconds or timedelta).
    :param cancel_on_timeout: Cancel the run when the wait times out.
    :param cancel_on_kill: Cancel the run when the task is killed.
    """

    template_fields: Sequence[str] = (
        "rest_endpoint",
        "experiment_name",
        "parameter_assignments",
        "data_path_assignments",
        "azure_ml_conn_id",
    )
    template_fields_renderers = {"parameter_assignments": "json", "data_path_assignments": "json"}
    operator_extra_links = (AzureMLJobLink(),)
    ui_color = "#0078d4"

    def __init__(
        self,
        *,
        rest_endpoint: str,
        experiment_name: str,
        parameter_assignments: Mapping[str, Any] | None = None,
        data_path_assignments: Mapping[str, Any] | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30,
        timeout: float | timedelta | None = None,
        cancel_on_timeout: bool = True,
        cancel_on_kill: bool = True,
        azure_ml_conn_id: str = "azure_ml_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rest_endpoint = rest_endpoint
        self.experiment_name = experiment_name
        self.parameter_assignments = parameter_assignments
        self.data_path_assignments = data_path_assignments
        self.configure_wait(
            wait_for_completion=wait_for_completion,
            deferrable=deferrable,
            poll_interval=poll_interval,
            timeout=timeout,
            cancel_on_timeout=cancel_on_timeout,
            cancel_on_kill=cancel_on_kill,
            azure_ml_conn_id=azure_ml_conn_id,
        )
        self.job_name: str | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        run = self.attach_or_submit(context, self._submit)
        self.publish_job(context, run["job_name"])
        if not self.wait_for_completion:
            return {"job_name": run["job_name"], "status": run["status"]}
        return self.wait_for_job(context, run["job_name"])

    def _submit(self) -> dict[str, Any]:
        run = self.hook.run_published_pipeline(
            self.rest_endpoint,
            experiment_name=self.experiment_name,
            parameter_assignments=self.parameter_assignments,
            data_path_assignments=self.data_path_assignments,
        )
        return {"job_name": run["run_id"], "status": run["status"]}
