"""Invoke a batch endpoint and (optionally) wait for the job, deferrable by default setting.

The endpoint's deployment may be a model deployment (one data input, one output) or a pipeline component
deployment (the v2 home of published pipelines: data and literal inputs, named outputs). Azure ML names
the job; the task's logical key (``job_name``, else derived from dag, task, run, map index and what is
submitted) travels as its display name and, for outputs the task does not place, as their output folder,
by which a retried or re-run task finds the job it already started (see ``hooks/batch_invoke.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from airflow_batchml.batch_job import BatchInput, BatchJobOverrides, is_one_input, parse_job_input, parse_outputs
from airflow_batchml.job_names import task_job_name
from airflow_batchml.links import AzureMLJobLink
from airflow_batchml.operators.job_wait import AzureMLJobWaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_INPUT_NAME = "input_data"


class AzureMLInvokeBatchEndpointOperator(AzureMLJobWaitMixin, BaseOperator):
    """Start a batch job on an Azure ML batch endpoint (a model or a pipeline component deployment).

    The task returns (XCom) ``job_name`` (the service's), ``status``, ``endpoint_name``, ``deployment_name``,
    ``output_uri`` (a model deployment's output; None for a pipeline deployment) and ``outputs``: every
    output location the task chose, by output name (a model deployment's is ``score``).

    :param endpoint_name: The batch endpoint. (templated)
    :param inputs: One data input, or a mapping of input name -> input. A data input is a datastore path
        (``azureml://datastores/<name>/paths/<path>``), a data asset (``azureml:<name>:<version>``), an https
        URL, a local path, or ``{"uri": ..., "type": "uri_folder" | "uri_file"}``. A pipeline component
        deployment also takes literals for its component's literal inputs: an int, float or bool as a plain
        value, and a string as ``{"type": "string", "value": "..."}`` (a plain string is a data input's URI;
        the explicit form takes ``integer``, ``number`` and ``boolean`` too). Inputs are checked against
        the deployment's component before submission: every required input given, literals of its types.
        (templated)
    :param deployment_name: The deployment to run; the endpoint's default when None. (templated)
    :param output_path: A model deployment's output: a datastore folder or file URI; when None, a folder of
        the default datastore derived from the job's key (``airflow/<key>/``), which identifies the job.
        (templated)
    :param outputs: A pipeline component deployment's outputs to place, output name -> datastore path
        (``azureml://datastores/<name>/paths/<path>``); each must be an output of the component. Folder
        outputs not named here go to ``airflow/<key>/<output name>/`` of the default datastore. (templated)
    :param overrides: Per-job settings: mini_batch_size, instance_count, output_file_name, max_retries,
        timeout, error_threshold. (templated)
    :param job_name: The submission's logical key, sent as the job's display name (Azure ML names the job);
        deterministic from the task run and inputs when None. (templated)
    :param experiment_name: Experiment to file the job under (Azure ML honours it for pipeline component
        deployments). (templated)
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
        "outputs",
        "overrides",
        "job_name",
        "experiment_name",
        "azure_ml_conn_id",
    )
    template_fields_renderers = {"inputs": "json", "outputs": "json", "overrides": "json"}
    operator_extra_links = (AzureMLJobLink(),)
    ui_color = "#0078d4"

    def __init__(
        self,
        *,
        endpoint_name: str,
        inputs: Any,
        deployment_name: str | None = None,
        output_path: str | None = None,
        outputs: Mapping[str, str] | None = None,
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
        self.outputs = outputs
        self.overrides = overrides
        self.job_name = job_name
        self.experiment_name = experiment_name
        self.written: list[str] | None = None  # the job's output locations, once it ran (for lineage)
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
        inputs = self._input_mapping()
        outputs = parse_outputs(self.outputs)
        overrides = BatchJobOverrides.parse(self.overrides)
        ti = context["ti"]
        job_name = self.job_name or task_job_name(
            ti.dag_id,
            ti.task_id,
            ti.run_id,
            ti.map_index,
            [self.endpoint_name, self.deployment_name, inputs, self.output_path, overrides.to_dict()]
            + ([outputs] if outputs else []),  # without named outputs, the key of a model job stays as it was
        )
        submitted = self.attach_or_submit(
            context,
            lambda: self.hook.invoke_batch_endpoint(
                self.endpoint_name,
                inputs,
                deployment_name=self.deployment_name,
                output_path=self.output_path,
                outputs=outputs,
                overrides=overrides,
                job_name=job_name,
                experiment_name=self.experiment_name,
            ),
        )
        job_name = submitted["job_name"]  # the service's name
        carry = {
            "deployment_name": submitted.get("deployment_name") or self.deployment_name,
            "output_uri": submitted.get("output_uri"),
            "outputs": submitted.get("outputs") or {},
        }
        self.publish_job(context, job_name, carry)
        if not self.wait_for_completion:
            return self._wrote({**self.job_result(submitted), **carry})
        return self._wrote(self.wait_for_job(context, job_name, carry))

    def execute_complete(
        self, context: Context, event: dict[str, Any], carry: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._wrote(super().execute_complete(context, event, carry))

    def _wrote(self, result: dict[str, Any]) -> dict[str, Any]:
        """Keep the job's output locations on this instance, the one the OpenLineage listener asks.

        The listener extracts in a fork of the task process, where XCom may be out of reach, so lineage
        reads them from here, as Airflow's own operators keep the ids of the jobs they ran.
        """
        output_uri = result.get("output_uri")
        self.written = [*(result.get("outputs") or {}).values(), *([output_uri] if output_uri else [])]
        return result

    def _input_mapping(self) -> dict[str, Any]:
        """The inputs as a mapping of input names; the hook checks them before anything is sent."""
        return dict({DEFAULT_INPUT_NAME: self.inputs} if is_one_input(self.inputs) else self.inputs)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage inputs (the job's data inputs) and outputs (every output location it wrote).

        Outputs are the locations the job was given (keyed outputs included), as the task returned them.
        Datastores are resolved through the workspace (``lineage.py``). Needs the optional
        ``apache-airflow-providers-openlineage``, which is what calls this.
        """
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_batchml.lineage import LineageResolver

        parsed = map(parse_job_input, self._input_mapping().values())
        inputs = [item.uri for item in parsed if isinstance(item, BatchInput)]  # literals are no datasets
        resolver = LineageResolver(self.hook)
        return OperatorLineage(
            inputs=[Dataset(namespace=d.namespace, name=d.name) for d in resolver.datasets(inputs)],
            outputs=[Dataset(namespace=d.namespace, name=d.name) for d in resolver.datasets(self.written or [])],
        )

    def job_result(self, job: dict[str, Any]) -> dict[str, Any]:
        return {
            "job_name": job["job_name"],
            "status": job["status"],
            "endpoint_name": self.endpoint_name,
            "deployment_name": self.deployment_name,
            "output_uri": job.get("output_uri") or self.output_path,
            "outputs": job.get("outputs") or {},
        }
