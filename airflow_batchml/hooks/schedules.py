"""Azure ML (v2) schedules through azure-ai-ml: create or update, list, enable, disable, delete.

A mixin of :class:`~airflow_batchml.hooks.azure_ml.AzureMLHook`, kept apart because schedules are their own
resource with their own status words; it relies only on the hook's ``get_client()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks import deployment_spec
from airflow_batchml.hooks.errors import remote_errors
from airflow_batchml.names import check_name

RECURRENCE_FREQUENCIES = ("minute", "hour", "day", "week", "month")


class ScheduleOperations:
    """Schedule operations; expects ``self.get_client()`` to return an ``MLClient``."""

    def get_client(self) -> Any:  # pragma: no cover - provided by the hook
        raise NotImplementedError

    def create_or_update_schedule(
        self,
        schedule: Any = None,
        *,
        name: str | None = None,
        create_job: str | None = None,
        cron: str | None = None,
        frequency: str | None = None,
        interval: int | None = None,
        time_zone: str = "UTC",
        description: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a schedule from a YAML path, an SDK entity, or a cron / recurrence and a job.

        :param create_job: the job the schedule starts: an ``azureml:<job name>`` reference or a job YAML.
        """
        if isinstance(schedule, (str, Path)):
            schedule = deployment_spec.load_schedule(schedule)
        if schedule is None:
            schedule = _schedule_from_arguments(name, create_job, cron, frequency, interval, time_zone, description)
        with remote_errors(f"Creating schedule {schedule.name}"):
            return schedule_dict(self.get_client().schedules.begin_create_or_update(schedule).result())

    def list_schedules(self, include_disabled: bool = False) -> list[dict[str, Any]]:
        """List schedules (only enabled ones unless ``include_disabled``)."""
        view = "All" if include_disabled else "EnabledOnly"
        with remote_errors("Listing schedules"):
            return [schedule_dict(item) for item in self.get_client().schedules.list(list_view_type=view)]

    def enable_schedule(self, name: str) -> dict[str, Any]:
        check_name("schedule", name)
        with remote_errors(f"Enabling schedule {name}"):
            return schedule_dict(self.get_client().schedules.begin_enable(name).result())

    def disable_schedule(self, name: str) -> dict[str, Any]:
        check_name("schedule", name)
        with remote_errors(f"Disabling schedule {name}"):
            return schedule_dict(self.get_client().schedules.begin_disable(name).result())

    def delete_schedule(self, name: str) -> None:
        """Delete a schedule, disabling it first: Azure ML refuses to delete an enabled one (the delete's
        operation fails with "Cannot delete an active trigger")."""
        check_name("schedule", name)
        schedules = self.get_client().schedules
        with remote_errors(f"Disabling schedule {name} before deleting it"):
            if _is_enabled(schedules, name):
                schedules.begin_disable(name).result()
        with remote_errors(f"Deleting schedule {name}"):
            schedules.begin_delete(name).result()


def _is_enabled(schedules: Any, name: str) -> bool:
    """Whether the schedule is enabled; a missing one is left for the delete to answer."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return bool(schedules.get(name).is_enabled)
    except ResourceNotFoundError:
        return False


def _schedule_from_arguments(
    name: str | None,
    create_job: str | None,
    cron: str | None,
    frequency: str | None,
    interval: int | None,
    time_zone: str,
    description: str | None,
) -> Any:
    from azure.ai.ml.entities import CronTrigger, JobSchedule, RecurrenceTrigger

    check_name("schedule", name, "name")
    if not create_job:
        raise AzureMLConfigurationError("create_job", "name the job the schedule starts (azureml:<job name>)")
    if bool(cron) == bool(frequency):
        raise AzureMLConfigurationError("cron", "give either cron or frequency + interval, not both or neither")
    if cron:
        trigger = CronTrigger(expression=cron, time_zone=time_zone)
    else:
        # azure-ai-ml matches the frequency case-insensitively (its samples write "Minute"); it wants lower case.
        if not isinstance(frequency, str) or frequency.lower() not in RECURRENCE_FREQUENCIES:
            raise AzureMLConfigurationError(
                "frequency", f"{frequency!r} is not one of {', '.join(RECURRENCE_FREQUENCIES)} (any case)"
            )
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise AzureMLConfigurationError("interval", f"{interval!r} is not a whole number >= 1")
        trigger = RecurrenceTrigger(frequency=frequency.lower(), interval=interval, time_zone=time_zone)
    return JobSchedule(name=name, trigger=trigger, create_job=create_job, description=description)


def schedule_dict(schedule: Any) -> dict[str, Any]:
    """The XCom-friendly view of a schedule."""
    trigger = schedule.trigger
    return {
        "name": schedule.name,
        "is_enabled": bool(schedule.is_enabled),
        "trigger_type": type(trigger).__name__.removesuffix("Trigger").lower() if trigger else None,
        "cron": getattr(trigger, "expression", None),
        "frequency": str(getattr(trigger, "frequency", "") or "") or None,
        "interval": getattr(trigger, "interval", None),
        "provisioning_state": getattr(schedule, "provisioning_state", None),
    }
