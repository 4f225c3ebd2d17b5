"""Schedule housekeeping: list the workspace's Azure ML schedules, then disable one by name.

The v1 recipe "find the schedule by id and stop it", on v2 schedules: ``AzureMLListSchedulesOperator``
lists every schedule, enabled or not, into XCom and the log shows each one's trigger; then
``AzureMLDisableScheduleOperator`` disables the one named by the ``schedule_name`` param (disabling a
disabled schedule is a no-op, so a re-run succeeds). A name that is not in the listing fails the run
before anything is changed, naming the schedules that exist.
"""

from __future__ import annotations

import logging

from airflow.sdk import Param, dag, task

from airflow_batchml.operators.schedules import AzureMLDisableScheduleOperator, AzureMLListSchedulesOperator

log = logging.getLogger(__name__)


@dag(
    schedule=None,
    catchup=False,
    params={
        "schedule_name": Param(
            "digits-every-15-minutes",
            type="string",
            pattern="^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$",
            description="The Azure ML schedule to disable.",
        )
    },
    tags=["azure-ml", "schedules"],
)
def schedule_housekeeping():
    listed = AzureMLListSchedulesOperator(task_id="list_schedules", include_disabled=True)

    @task
    def check_schedule_exists(schedules: list[dict], params=None) -> str:
        for schedule in schedules:
            trigger = schedule["cron"] or f"every {schedule['interval']} {schedule['frequency']}"
            log.info("%-40s %-8s %s", schedule["name"], "enabled" if schedule["is_enabled"] else "disabled", trigger)
        names = sorted(schedule["name"] for schedule in schedules)
        if params["schedule_name"] not in names:
            raise ValueError(
                f"No schedule {params['schedule_name']!r}; the workspace has: {', '.join(names) or 'none'}"
            )
        return params["schedule_name"]

    disable = AzureMLDisableScheduleOperator(
        task_id="disable_schedule", schedule_name="{{ ti.xcom_pull(task_ids='check_schedule_exists') }}"
    )

    check_schedule_exists(listed.output) >> disable


schedule_housekeeping()
