"""The schedule operators' own part: what is templated, their defaults, and enable/disable as one toggle.

Cron, frequency and YAML checks are the hook's (tests/unit/operators/test_bad_input.py); creating, listing
and disabling schedules run against the emulator in tests/integration/operators/test_lifecycle.py.
"""

from __future__ import annotations

import pytest

from airflow_batchml.operators.schedules import (
    AzureMLCreateScheduleOperator,
    AzureMLDisableScheduleOperator,
    AzureMLEnableScheduleOperator,
    AzureMLListSchedulesOperator,
    AzureMLToggleScheduleOperator,
)

PARAMS = {"params": {"env": "prod", "job": "nightly-scoring"}}


@pytest.mark.parametrize(
    ("operator", "fields"),
    [
        (AzureMLCreateScheduleOperator, {"yaml_path", "schedule_name", "create_job", "cron", "azure_ml_conn_id"}),
        (AzureMLListSchedulesOperator, {"azure_ml_conn_id"}),
        (AzureMLToggleScheduleOperator, {"schedule_name", "azure_ml_conn_id"}),
        (AzureMLEnableScheduleOperator, {"schedule_name", "azure_ml_conn_id"}),
        (AzureMLDisableScheduleOperator, {"schedule_name", "azure_ml_conn_id"}),
    ],
)
def test_names_cron_and_the_connection_are_templated(operator, fields):
    assert set(operator.template_fields) == fields


def test_a_schedule_runs_in_utc_unless_told_otherwise():
    task = AzureMLCreateScheduleOperator(task_id="create", schedule_name="every-15", create_job="azureml:j1")
    assert (task.time_zone, task.cron, task.frequency, task.interval, task.description, task.yaml_path) == (
        "UTC",
        None,
        None,
        None,
        None,
        None,
    )


def test_the_schedule_name_job_and_cron_render():
    task = AzureMLCreateScheduleOperator(
        task_id="create",
        schedule_name="{{ params.env }}-nightly",
        create_job="azureml:{{ params.job }}",
        cron="0 {{ 2 + 1 }} * * *",
        time_zone="Europe/Paris",
    )
    task.render_template_fields(PARAMS)
    assert (task.schedule_name, task.create_job, task.cron, task.time_zone) == (
        "prod-nightly",
        "azureml:nightly-scoring",
        "0 3 * * *",
        "Europe/Paris",
    )


def test_listing_leaves_out_disabled_schedules_unless_asked():
    assert AzureMLListSchedulesOperator(task_id="list").include_disabled is False
    assert AzureMLListSchedulesOperator(task_id="list", include_disabled=True).include_disabled is True


@pytest.mark.parametrize(
    ("operator", "enabled"), [(AzureMLEnableScheduleOperator, True), (AzureMLDisableScheduleOperator, False)]
)
def test_enable_and_disable_are_the_toggle_set_one_way(operator, enabled):
    task = operator(task_id="toggle", schedule_name="{{ params.env }}-nightly")
    task.render_template_fields(PARAMS)
    assert isinstance(task, AzureMLToggleScheduleOperator)
    assert (task.schedule_name, task.enabled) == ("prod-nightly", enabled)
