"""EventGridBlobSensor without storage: its conventions, the trigger it builds, and what it does with events.

Reading and deleting queue messages through Azurite (poke, deferral with a real trigger, messages deleted
only once the task holds their records) is in tests/integration/blob_events/test_sensor.py.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from airflow.sdk import DAG, task
from airflow.sdk.exceptions import TaskDeferred
from structlog.testing import capture_logs

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.sensors import blob_events as module
from airflow_batchml.sensors.blob_events import DELETED_XCOM_KEY, EventGridBlobSensor
from airflow_batchml.triggers.blob_events import EventGridBlobTrigger, QueueTransientError
from tests.support.task_context import FakeTI

RECORD = {"name": "in/a.csv", "uri": "https://acct/landing/in/a.csv", "type": "uri_file", "job_name": "score-1"}


def sensor(**kwargs) -> EventGridBlobSensor:
    return EventGridBlobSensor(
        **{"task_id": "wait", "queue_name": "landing-events", "container_name": "landing", **kwargs}
    )


def changes(blobs: list[dict], deleted: list[str] | None = None) -> dict:
    """A ``changes`` event as the sensor's trigger emits it (no receipts: nothing to delete remotely)."""
    return {"status": "changes", "container": "landing", "prefix": "in/", "blobs": blobs, "deleted": deleted or []}


def test_templated_fields_are_the_queue_the_folder_and_the_connection():
    assert set(EventGridBlobSensor.template_fields) == {
        "queue_name",
        "container_name",
        "blob_path_begins_with",
        "blob_path_ends_with",
        "wasb_conn_id",
        "datastore",
    }


@pytest.mark.parametrize("default", [True, False])
def test_deferrable_defaults_to_airflow_setting(monkeypatch, default):
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", str(default))
    reloaded = importlib.reload(module)
    try:
        task = reloaded.EventGridBlobSensor(task_id="t", queue_name="landing-events", container_name="landing")
        assert task.deferrable is default
    finally:
        monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE")
        importlib.reload(module)


def test_the_trigger_carries_the_filter_and_hands_deletion_to_the_task():
    task = sensor(
        blob_path_begins_with="in/",
        blob_path_ends_with=".csv",
        events=["created", "deleted"],
        ignore_empty_blobs=False,
        wasb_conn_id="landing_wasb",
        batch_size=10,
        visibility_timeout=120,
        max_deliveries=3,
        datastore="workspaceblobstore",
        job_name_prefix="score",
        poke_interval=20,
    )
    trigger = task.build_trigger()
    assert isinstance(trigger, EventGridBlobTrigger)
    kwargs = trigger.serialize()[1]
    assert {key: kwargs[key] for key in kwargs if key not in ("retry_delay", "max_retry_delay")} == {
        "queue_name": "landing-events",
        "container_name": "landing",
        "blob_path_begins_with": "in/",
        "blob_path_ends_with": ".csv",
        "events": ["created", "deleted"],
        "ignore_empty_blobs": False,
        "wasb_conn_id": "landing_wasb",
        "poll_interval": 20,
        "batch_size": 10,
        "visibility_timeout": 120,
        "max_deliveries": 3,
        "event_per_blob": False,
        "datastore": "workspaceblobstore",
        "job_name_prefix": "score",
        "emit_receipts": True,
    }


@pytest.mark.parametrize(("poke_interval", "visibility_timeout", "poll_interval"), [(30, 300, 30), (600, 300, 150)])
def test_the_trigger_polls_at_the_poke_interval_but_within_half_the_visibility_timeout(
    poke_interval, visibility_timeout, poll_interval
):
    task = sensor(poke_interval=poke_interval, visibility_timeout=visibility_timeout)
    assert task.build_trigger().poll_interval == poll_interval


def test_job_names_start_with_the_dag_and_task_unless_a_prefix_is_given():
    with DAG("landing_dag", schedule=None):
        derived, given = sensor(), sensor(task_id="wait_named", job_name_prefix="score")
    assert derived.build_trigger().job_name_prefix == "landing_dag-wait"
    assert given.build_trigger().job_name_prefix == "score"


def test_a_bad_queue_name_fails_at_construction_naming_it():
    with pytest.raises(AzureMLConfigurationError, match="^queue_name: 'Landing_Events' is not a queue name"):
        EventGridBlobSensor(task_id="wait", queue_name="Landing_Events", container_name="landing")


def test_a_templated_queue_name_is_checked_once_rendered():
    task = EventGridBlobSensor(task_id="wait", queue_name="{{ params.queue }}", container_name="landing")
    task.render_template_fields({"params": {"queue": "Not_A_Queue"}})
    assert task.queue_name == "Not_A_Queue"
    with pytest.raises(AzureMLConfigurationError, match="^queue_name:"):
        task.build_trigger()


def test_resume_returns_the_records_of_the_event():
    ti = FakeTI()
    assert sensor().execute_complete({"ti": ti}, changes([RECORD])) == [RECORD]
    assert ti.pushed == {}  # created blobs only and nothing deleted: no deleted_blobs XCom


def test_resume_pushes_the_deleted_names_when_there_are_some():
    ti = FakeTI()
    task = sensor(events=["created", "deleted"])
    assert task.execute_complete({"ti": ti}, changes([RECORD], ["in/old.csv"])) == [RECORD]
    assert ti.pushed == {DELETED_XCOM_KEY: ["in/old.csv"]}


def test_a_sensor_for_deletions_only_always_pushes_the_deleted_names():
    ti = FakeTI()
    assert sensor(events=["deleted"]).execute_complete({"ti": ti}, changes([])) == []
    assert ti.pushed == {DELETED_XCOM_KEY: []}


def test_resume_on_an_error_event_fails_with_its_message_and_pushes_nothing():
    ti = FakeTI()
    event = {**changes([]), "status": "error", "message": "queue_name: queue 'landing-events' does not exist"}
    with pytest.raises(AzureMLConfigurationError) as err:
        sensor().execute_complete({"ti": ti}, event)
    assert str(err.value) == "blob event sensor: queue_name: queue 'landing-events' does not exist"
    assert ti.pushed == {}


def test_resume_on_an_event_that_is_neither_changes_nor_a_message_names_the_event():
    with pytest.raises(AzureMLConfigurationError, match=r"blob event sensor: bad event \{'status': 'timeout'\}"):
        sensor().execute_complete({"ti": FakeTI()}, {"status": "timeout"})


def test_a_suffix_from_an_upstream_task_is_checked_once_rendered():
    with DAG("landing_dag", schedule=None):

        @task
        def suffix() -> str:
            return ".csv"

        waiting = sensor(blob_path_ends_with=suffix())
    assert waiting.task_id == "wait"


# The queue read (``_poll``) is replaced below: what Azurite answers is the integration tests' part; these
# cover what the sensor does with an outcome Azurite does not give on demand (a transient fault) or one whose
# handling the integration tests do not check (the deferral's timeout).


def test_a_transient_queue_error_is_a_poke_that_found_nothing(monkeypatch):
    task = sensor()

    async def failing_read():
        raise QueueTransientError("queue answered 503: Server Busy")

    monkeypatch.setattr(task, "_poll", failing_read)
    with capture_logs() as logs:
        result = task.poke({"ti": FakeTI()})
    assert result.is_done is False
    assert [log["event"] for log in logs if log["log_level"] == "warning"] == [
        "Reading queue landing-events failed, will retry: queue answered 503: Server Busy"
    ]


def test_nothing_queued_defers_to_the_trigger_within_the_sensors_timeout(monkeypatch):
    task = sensor(deferrable=True, timeout=90, poke_interval=15, blob_path_begins_with="in/")

    async def empty_queue():
        return []

    monkeypatch.setattr(task, "_poll", empty_queue)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute({"ti": FakeTI()})
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(seconds=90)
    trigger = deferred.value.trigger
    assert (trigger.queue_name, trigger.blob_path_begins_with, trigger.poll_interval) == ("landing-events", "in/", 15)
    assert trigger.emit_receipts is True
