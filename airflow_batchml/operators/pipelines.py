"""SDK v1 published pipelines: run one and optionally wait for the run; list and disable pipelines and schedules.

The pipeline is named by its REST endpoint, its published pipeline id, or a pipeline endpoint's name (and
version). The service names the run; a retried task attaches to the run it kept in ``task_state_store``.
The housekeeping operators turn off what still fires on v1 once its v2 replacement runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.pipeline_entities import run_body
from airflow_batchml.hooks.published_pipelines import check_guid, check_pipeline_target
from airflow_batchml.links import AzureMLJobLink
from airflow_batchml.operators.base import AzureMLBaseOperator
from airflow_batchml.operators.job_wait import AzureMLJobWaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class AzureMLRunPublishedPipelineOperator(AzureMLJobWaitMixin, BaseOperator):
    """POST to a published pipeline's REST endpoint, then (optionally) wait for the run.

    Name the pipeline by exactly one of ``rest_endpoint``, ``published_pipeline_id`` and
    ``pipeline_endpoint_name`` (an empty value counts as not given, so templates may leave two blank).

    :param rest_endpoint: The pipeline's REST endpoint (``PublishedPipeline.endpoint``). (templated)
    :param published_pipeline_id: A published pipeline's id, looked up to its REST endpoint. (templated)
    :param pipeline_endpoint_name: A pipeline endpoint's name, looked up to its REST endpoint. (templated)
    :param pipeline_version: The pipeline endpoint's version to run; its default version when unset. (templated)
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
        "published_pipeline_id",
        "pipeline_endpoint_name",
        "pipeline_version",
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
        rest_endpoint: str | None = None,
        published_pipeline_id: str | None = None,
        pipeline_endpoint_name: str | None = None,
        pipeline_version: str | None = None,
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
        self.published_pipeline_id = published_pipeline_id
        self.pipeline_endpoint_name = pipeline_endpoint_name
        self.pipeline_version = pipeline_version
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
        target = (self.rest_endpoint, self.published_pipeline_id, self.pipeline_endpoint_name, self.pipeline_version)
        check_pipeline_target(*target)  # bad input fails before any remote call
        run_body(self.experiment_name, self.parameter_assignments, self.data_path_assignments)
        run = self.attach_or_submit(context, self._submit)
        self.publish_job(context, run["job_name"])
        if not self.wait_for_completion:
            return {"job_name": run["job_name"], "status": run["status"]}
        return self.wait_for_job(context, run["job_name"])

    def _submit(self) -> dict[str, Any]:
        rest_endpoint = self.rest_endpoint or self.hook.resolve_pipeline_rest_endpoint(
            published_pipeline_id=self.published_pipeline_id or None,
            pipeline_endpoint_name=self.pipeline_endpoint_name or None,
            pipeline_version=self.pipeline_version or None,
        )
        run = self.hook.run_published_pipeline(
            rest_endpoint,
            experiment_name=self.experiment_name,
            parameter_assignments=self.parameter_assignments,
            data_path_assignments=self.data_path_assignments,
        )
        return {"job_name": run["run_id"], "status": run["status"]}


class AzureMLListPublishedPipelinesOperator(AzureMLBaseOperator):
    """List the workspace's published pipelines; XCom: ``[{"id", "name", "status", "rest_endpoint", ...}]``.

    :param include_disabled: Also list disabled pipelines. (templated)
    """

    template_fields: Sequence[str] = ("include_disabled", "azure_ml_conn_id")

    def __init__(self, *, include_disabled: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.include_disabled = include_disabled

    def execute(self, context: Context) -> list[dict[str, Any]]:
        pipelines = self.hook.list_published_pipelines(include_disabled=_flag(self.include_disabled))
        for item in pipelines:
            self.log.info("Published pipeline %s (%s): %s", item["id"], item["name"], item["status"])
        return pipelines


class AzureMLListV1SchedulesOperator(AzureMLBaseOperator):
    """List v1 schedules, of the workspace or of one published pipeline; XCom: ``[{"id", "name", "status", ...}]``.

    :param include_disabled: Also list disabled schedules. (templated)
    :param published_pipeline_id: Only this published pipeline's schedules. (templated)
    """

    template_fields: Sequence[str] = ("include_disabled", "published_pipeline_id", "azure_ml_conn_id")

    def __init__(
        self, *, include_disabled: bool | str = False, published_pipeline_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.include_disabled = include_disabled
        self.published_pipeline_id = published_pipeline_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        include_disabled = _flag(self.include_disabled)
        if self.published_pipeline_id:
            check_guid(self.published_pipeline_id, "published_pipeline_id")
        schedules = self.hook.list_v1_schedules(
            include_disabled=include_disabled, pipeline_id=self.published_pipeline_id or None
        )
        for item in schedules:
            self.log.info("v1 schedule %s (%s, %s): %s", item["id"], item["name"], item["type"], item["status"])
        return schedules


class _DisableByIdOperator(AzureMLBaseOperator):
    """Disable each of ``ids``; XCom: ``{"disabled": [...], "already_disabled": [...]}``."""

    id_field = ""  # the attribute (and argument) holding the ids

    def execute(self, context: Context) -> dict[str, list[str]]:
        ids = _id_list(getattr(self, self.id_field), self.id_field)
        for index, value in enumerate(ids):
            check_guid(value, f"{self.id_field}[{index}]")  # every id checked before the first call
        result: dict[str, list[str]] = {"disabled": [], "already_disabled": []}
        for value in ids:
            changed = self._disable(value)
            result["disabled" if changed else "already_disabled"].append(value)
            self.log.info("%s %s: %s", self.id_field, value, "disabled" if changed else "was already disabled")
        return result

    def _disable(self, value: str) -> bool:
        raise NotImplementedError


class AzureMLDisablePublishedPipelinesOperator(_DisableByIdOperator):
    """Disable published pipelines by id (a disabled pipeline refuses runs); already disabled ones are left.

    :param published_pipeline_ids: One id or a list of ids. (templated)
    """

    id_field = "published_pipeline_ids"
    template_fields: Sequence[str] = ("published_pipeline_ids", "azure_ml_conn_id")

    def __init__(self, *, published_pipeline_ids: str | Sequence[str] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.published_pipeline_ids = published_pipeline_ids

    def _disable(self, value: str) -> bool:
        return self.hook.disable_published_pipeline(value)


class AzureMLDisableV1SchedulesOperator(_DisableByIdOperator):
    """Disable v1 schedules by id, so that they stop firing; already disabled ones are left.

    :param schedule_ids: One id or a list of ids. (templated)
    """

    id_field = "schedule_ids"
    template_fields: Sequence[str] = ("schedule_ids", "azure_ml_conn_id")

    def __init__(self, *, schedule_ids: str | Sequence[str] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule_ids = schedule_ids

    def _disable(self, value: str) -> bool:
        return self.hook.disable_v1_schedule(value)


def _flag(value: bool | str) -> bool:
    """A templated boolean: a bool, or ``true``/``false`` as a non-native template renders it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise AzureMLConfigurationError("include_disabled", f"{value!r} is not true or false")


def _id_list(value: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return list(value)
    raise AzureMLConfigurationError(field, f"{value!r} is not an id or a list of ids")
