"""WasbBlobChangeSensor without storage: where its watermark comes from, deferral, resume, conventions.

Listing through Azurite (poke, reschedule-free deferral with a real trigger) is in
tests/integration/blob_changes/test_sensor.py.
"""

from __future__ import annotations

import importlib

import pytest
from airflow.sdk import TaskInstanceState
from airflow.sdk.exceptions import TaskDeferred

from airflow_batchml.changes import ChangeSet, initial_state
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.sensors import blob_changes as module
from airflow_batchml.sensors.blob_changes import STATE_XCOM_KEY, WasbBlobChangeSensor
from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger
from tests.support.task_context import START, FakeTI

SAVED = {"v": 1, "watermark": "2026-02-28T00:00:00+00:00", "etags": {}}


def sensor(**kwargs) -> WasbBlobChangeSensor:
    return WasbBlobChangeSensor(
        task_id="wait", container_name="landing", prefix="in", job_name_prefix="score", **kwargs
    )


def test_watermark_comes_from_the_last_successful_run():
    ti = FakeTI(previous_run="run-1", xcoms={("wait", STATE_XCOM_KEY, "run-1"): SAVED})
    assert sensor().previous_state({"ti": ti}) == SAVED
    assert ti.asked == [TaskInstanceState.SUCCESS]


def test_first_run_counts_changes_from_when_the_task_started():
    assert sensor().previous_state({"ti": FakeTI()}) == initial_state(START)
    assert sensor(include_existing=True).previous_state({"ti": FakeTI()}) is None


def test_nothing_new_defers_with_the_state_and_a_trigger_that_returns_it(monkeypatch):
    task = sensor(deferrable=True, poke_interval=7, ignore_same_content=True)
    ti = FakeTI(previous_run="run-1", xcoms={("wait", STATE_XCOM_KEY, "run-1"): SAVED})

    async def nothing():
        return ChangeSet([], [], [], SAVED, False), []

    monkeypatch.setattr(task, "_poll", nothing)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute({"ti": ti})
    trigger = deferred.value.trigger
    assert isinstance(trigger, WasbBlobChangeTrigger)
    assert trigger.state == SAVED and trigger.emit_state and trigger.poll_interval == 7
    assert trigger.ignore_same_content
    assert deferred.value.method_name == "execute_complete"
    assert ti.pushed == {}


def test_resume_returns_the_blobs_and_pushes_the_new_state():
    ti = FakeTI()
    blobs = [{"name": "in/a.csv", "uri": "https://a/landing/in/a.csv", "type": "uri_file", "job_name": "j"}]
    event = {"status": "changes", "blobs": blobs, "deleted": [], "state": SAVED}
    assert sensor().execute_complete({"ti": ti}, event) == blobs
    assert ti.pushed == {STATE_XCOM_KEY: SAVED}


def test_resume_on_an_error_event_fails_without_advancing():
    ti = FakeTI()
    event = {"status": "error", "message": "container_name: container 'landing' does not exist"}
    with pytest.raises(AzureMLConfigurationError, match="does not exist"):
        sensor().execute_complete({"ti": ti}, event)
    assert ti.pushed == {}


def test_bad_glob_fails_at_construction_unless_templated():
    with pytest.raises(AzureMLConfigurationError, match="glob"):
        sensor(glob="[oops")
    assert sensor(glob="{{ params.pattern }}").glob == "{{ params.pattern }}"


def test_templated_fields_include_the_folder_and_connection():
    assert {"container_name", "prefix", "glob", "wasb_conn_id"} <= set(WasbBlobChangeSensor.template_fields)


@pytest.mark.parametrize("default", [True, False])
def test_deferrable_defaults_to_airflow_setting(monkeypatch, default):
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", str(default))
    reloaded = importlib.reload(module)
    try:
        assert reloaded.WasbBlobChangeSensor(task_id="t", container_name="c").deferrable is default
    finally:
        monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE")
        importlib.reload(module)


def on_datastore(**kwargs) -> WasbBlobChangeSensor:
    return WasbBlobChangeSensor(task_id="wait", datastore="workspaceblobstore", path="landing/", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"path": "landing/"}, "path"),
        ({"azure_ml_conn_id": "azure_ml_default"}, "azure_ml_conn_id"),
    ],
)
def test_container_form_refuses_the_datastore_forms_arguments(kwargs, field):
    with pytest.raises(AzureMLConfigurationError) as err:
        sensor(**kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), [({"prefix": "in"}, "prefix"), ({"wasb_conn_id": "w"}, "wasb_conn_id")])
def test_datastore_form_refuses_the_container_forms_arguments(kwargs, field):
    with pytest.raises(AzureMLConfigurationError) as err:
        on_datastore(**kwargs)
    assert err.value.field == field


def test_neither_form_is_refused_naming_the_container():
    with pytest.raises(AzureMLConfigurationError) as err:
        WasbBlobChangeSensor(task_id="wait")
    assert err.value.field == "container_name"


def test_datastore_form_builds_a_datastore_trigger_and_a_templated_name_is_checked_once_rendered():
    trigger = on_datastore(azure_ml_conn_id="aml").build_trigger(SAVED)
    assert (trigger.container_name, trigger.datastore, trigger.path, trigger.azure_ml_conn_id) == (
        None,
        "workspaceblobstore",
        "landing/",
        "aml",
    )
    assert WasbBlobChangeSensor(task_id="t", datastore="{{ params.store }}").datastore == "{{ params.store }}"
    with pytest.raises(AzureMLConfigurationError, match="datastore"):
        WasbBlobChangeSensor(task_id="t", datastore="not/a/name")
    assert {"datastore", "path", "azure_ml_conn_id"} <= set(WasbBlobChangeSensor.template_fields)
