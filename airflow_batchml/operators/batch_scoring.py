"""Invoke a batch endpoint and (optionally) wait for the scoring job, deferrable by default setting.

Azure ML names the job; the task's logical key (``job_name``, else derived from dag, task, run, map index
and what is scored) travels as its display name and, with no ``output_path``, as its output folder, by
which a retried or re-run task finds the job it already started (see ``hooks/batch_invoke.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from airflow_batchml.batch_job import BatchInput, BatchJobOverrides
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.job_names import task_job_name
from airflow_batchml.links import AzureMLJobLink
from airflow_batchml.names import check_name
from airflow_batchml.operators.job_wait import AzureMLJobWaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_INPUT_NAME = "input_data"


class AzureMLInvokeBatchEndpointOperator(AzureMLJobWaitMixin, BaseOperator):
    """Start a batch scoring job on an Azure ML batch endpoint.

    :param endpoint_name: The batch endpoint. (templated)
    :param inputs: One input, or a mapping of input name -> input. An input is a datastore path
        (``azureml://datastores/<name>/paths/<path>``), a data asset (``azureml:<name>:<version>``), an https
        URL, a local path, or ``{"uri": ..., "type": "uri_folder" | "uri_file"}``. (templated)
    :param deployment_name: The deployment to run; the endpoint's default when None. (templated)
    :param output_path: Where the results go: a datastore folder or file URI; when None, a folder of the
        default datastore derived from the job's key (``airflow/<key>/``), which identifies the job. (templated)
    :param overrides: Per-job settings: mini_batch_size, instance_count, output_file_name, max_retries,
        timeout, error_threshold. (templated)
    :param job_name: The submission's logical key, sent as the job's display name (Azure ML names the job);
        deterministic from the task run and inputs when None. (templated)
    :param experiment_name: Experiment to file the job under. (templated)
    :param wait_for_completion: Wait for the job to finish before the task succeeds.
    :param deferrable: Wait in the triggerer instead of the worker.
    :param poll_interval: Seconds between status checks while waiting.
    :param timeout: Longest wait for the job (seconds or timedelta); None waits as long as it runs.
    :param cancel_on_timeout: Cancel the job when the wait times out.
    :param cancel_on_kill: Cancel the job when the task is killed.
    :param azure_ml_conn_id: The ``azure_ml`` connection. (templated)
    """

    template_fields: Sequence[str] = (
        "endpoint_name",
        "inputs",
        "deployment_name",
        "output_path",
        "overrides",
        "job_name",
        "experiment_name",
        "azure_ml_conn_id",
    )
    template_fields_renderers = {"inputs": "json", "overrides": "json"}
    operator_extra_links = (AzureMLJobLink(),)
    ui_color = "#0078d4"

    def __init__(
        self,
        *,
        endpoint_name: str,
        inputs: Any,
        deployment_name: str | None = None,
        output_path: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        job_name: str | None = None,
        experiment_name: str | None = None,
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
        self.endpoint_name = endpoint_name
        self.inputs = inputs
        self.deployment_name = deployment_name
        self.output_path = output_path
        self.overrides = overrides
        self.job_name = job_name
        self.experiment_name = experiment_name
        self.configure_wait(
            wait_for_completion=wait_for_completion,
            deferrable=deferrable,
            poll_interval=poll_interval,
            timeout=timeout,
            cancel_on_timeout=cancel_on_timeout,
            cancel_on_kill=cancel_on_kill,
            azure_ml_conn_id=azure_ml_conn_id,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        inputs = self._checked_inputs()
        overrides = BatchJobOverrides.parse(self.overrides)
        check_name("endpoint", self.endpoint_name, "endpoint_name")
        if self.deployment_name:
            check_name("deployment", self.deployment_name, "deployment_name")
        ti = context["ti"]
        job_name = self.job_name or task_job_name(
            ti.dag_id,
            ti.task_id,
            ti.run_id,
            ti.map_index,
            [self.endpoint_name, self.deployment_name, inputs, self.output_path, overrides.to_dict()],
        )
        submitted = self.attach_or_submit(
            context,
            lambda: self.hook.invoke_batch_endpoint(
                self.endpoint_name,
                inputs,
                deployment_name=self.deployment_name,
                output_path=self.output_path,
                overrides=overrides,
                job_name=job_name,
                experiment_name=self.experiment_name,
            ),
        )
        job_name = submitted["job_name"]  # the service's name
        carry = {
            "deployment_name": submitted.get("deployment_name") or self.deployment_name,
            "output_uri": submitted.get("output_uri"),
        }
        self.publish_job(context, job_name, carry)
        if not self.wait_for_completion:
            return {**self.job_result(submitted), **carry}
        return self.wait_for_job(context, job_name, carry)

    def _checked_inputs(self) -> dict[str, Any]:
        """Normalise to a mapping and validate every input before anything is sent."""
        single = not isinstance(self.inputs, Mapping) or set(self.inputs) & {"uri", "path"}
        inputs = {DEFAULT_INPUT_NAME: self.inputs} if single else self.inputs
        if not inputs:
            raise AzureMLConfigurationError("inputs", "at least one input is required")
        for key, value in inputs.items():
            BatchInput.parse(value, f"inputs.{key}")
        return dict(inputs)

    def job_result(self, job: dict[str, Any]) -> dict[str, Any]:
        return {
            "job_name": job["job_name"],
            "status": job["status"],
            "endpoint_name": self.endpoint_name,
            "deployment_name": self.deployment_name,
            "output_uri": job.get("output_uri") or self.output_path,
        }
