"""Manage Azure ML (v2) schedules from a DAG: create or update, list, enable, disable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_batchml.operators.base import AzureMLBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class AzureMLCreateScheduleOperator(AzureMLBaseOperator):
    """Create or update a schedule from a YAML file or from a cron / recurrence and a job reference.

    :param yaml_path: A schedule YAML as ``az ml schedule create --file`` takes. (templated)
    :param schedule_name: The schedule name (when not from YAML). (templated)
    :param create_job: The job it starts, ``azureml:<job name>``. (templated)
    :param cron: A cron expression, e.g. ``*/15 * * * *``. (templated)
    :param frequency: ``minute``, ``hour``, ``day``, ``week`` or ``month`` (any case), with ``interval``.
    :param interval: How many ``frequency`` units between runs.
    :param time_zone: Time zone of the trigger.
    """

    template_fields: Sequence[str] = ("yaml_path", "schedule_name", "create_job", "cron", "azure_ml_conn_id")

    def __init__(
        self,
        *,
        yaml_path: str | None = None,
        schedule_name: str | None = None,
        create_job: str | None = None,
        cron: str | None = None,
        frequency: str | None = None,
        interval: int | None = None,
        time_zone: str = "UTC",
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.yaml_path = yaml_path
        self.schedule_name = schedule_name
        self.create_job = create_job
        self.cron = cron
        self.frequency = frequency
        self.interval = interval
        self.time_zone = time_zone
        self.description = description

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.create_or_update_schedule(
            self.yaml_path,
            name=self.schedule_name,
            create_job=self.create_job,
            cron=self.cron,
            frequency=self.frequency,
            interval=self.interval,
            time_zone=self.time_zone,
            description=self.description,
        )


class AzureMLListSchedulesOperator(AzureMLBaseOperator):
    """List schedules into XCom (only enabled ones unless ``include_disabled``)."""

    template_fields: Sequence[str] = ("azure_ml_conn_id",)

    def __init__(self, *, include_disabled: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.include_disabled = include_disabled

    def execute(self, context: Context) -> list[dict[str, Any]]:
        schedules = self.hook.list_schedules(include_disabled=self.include_disabled)
        self.log.info("Found %d schedules", len(schedules))
        return schedules


class AzureMLToggleScheduleOperator(AzureMLBaseOperator):
    """Enable or disable a schedule by name (the v1 "stop a schedule" recipe on v2 schedules).

    :param schedule_name: The schedule. (templated)
    :param enabled: True to enable, False to disable.
    """

    template_fields: Sequence[str] = ("schedule_name", "azure_ml_conn_id")

    def __init__(self, *, schedule_name: str, enabled: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule_name = schedule_name
        self.enabled = enabled

    def execute(self, context: Context) -> dict[str, Any]:
        toggle = self.hook.enable_schedule if self.enabled else self.hook.disable_schedule
        return toggle(self.schedule_name)


class AzureMLEnableScheduleOperator(AzureMLToggleScheduleOperator):
    """Enable a schedule by name."""

    def __init__(self, *, schedule_name: str, **kwargs: Any) -> None:
        super().__init__(schedule_name=schedule_name, enabled=True, **kwargs)


class AzureMLDisableScheduleOperator(AzureMLToggleScheduleOperator):
    """Disable a schedule by name."""

    def __init__(self, *, schedule_name: str, **kwargs: Any) -> None:
        super().__init__(schedule_name=schedule_name, enabled=False, **kwargs)
