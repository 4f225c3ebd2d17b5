"""EventGridBlobSensor against Azurite's blob and queue services: poke and deferrable paths, and messages
deleted only once the task holds their records."""

from __future__ import annotations

import asyncio

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_batchml.batch_job import BatchInput
from airflow_batchml.sensors.blob_events import DELETED_XCOM_KEY, EventGridBlobSensor
from tests.support.blob_triggers import land, queued, take
from tests.support.task_context import FakeTI

pytestmark = pytest.mark.integration


def make_sensor(queue, container, conn_id: str, **kwargs) -> EventGridBlobSensor:
    return EventGridBlobSensor(
        task_id="wait",
        queue_name=queue.queue_name,
        container_name=container.container_name,
        blob_path_begins_with="in/",
        wasb_conn_id=conn_id,
        job_name_prefix="score",
        poke_interval=0,
        timeout=30,
        **kwargs,
    )


async def test_poke_mode_returns_the_records_and_then_empties_the_queue(wasb_conn, container, queue, publisher):
    await land(container, publisher, "in/a.csv")
    await land(container, publisher, "in/b.csv")
    await publisher.deleted(container.container_name, "in/old.csv")
    ti = FakeTI()
    task = make_sensor(queue, container, wasb_conn, events=["created", "deleted"])
    records = await asyncio.to_thread(task.execute, {"ti": ti})
    assert sorted(r["name"] for r in records) == ["in/a.csv", "in/b.csv"]
    assert BatchInput.parse(records[0]).type == "uri_file"
    assert ti.pushed[DELETED_XCOM_KEY] == ["in/old.csv"]
    assert await queued(queue) == 0


async def test_deferrable_mode_leaves_deletion_to_execute_complete(wasb_conn, container, queue, publisher):
    task = make_sensor(queue, container, wasb_conn, deferrable=True)
    ti = FakeTI()
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(task.execute, {"ti": ti})
    await land(container, publisher, "in/late.csv")
    events = deferred.value.trigger.run()
    try:
        (event,) = await take(events, 1)
    finally:
        await events.aclose()
    assert await queued(queue) == 1  # the trigger handed the receipt over and deleted nothing
    blobs = await asyncio.to_thread(task.execute_complete, {"ti": ti}, event)
    assert [b["name"] for b in blobs] == ["in/late.csv"] and blobs[0]["job_name"].startswith("score-")
    assert await queued(queue) == 0


async def test_a_task_that_fails_before_resuming_leaves_the_message_for_the_next_try(
    wasb_conn, container, queue, publisher
):
    await land(container, publisher, "in/kept.csv")
    task = make_sensor(queue, container, wasb_conn, deferrable=True, visibility_timeout=2)
    result = await asyncio.to_thread(task.poke, {"ti": FakeTI()})  # received, then the worker dies
    assert result.is_done and await queued(queue) == 1
    retry = make_sensor(queue, container, wasb_conn, visibility_timeout=2)
    records = await asyncio.to_thread(retry.execute, {"ti": FakeTI()})  # pokes until the message is visible again
    assert [r["name"] for r in records] == ["in/kept.csv"]
    assert await queued(queue) == 0


def test_a_malformed_filter_fails_when_the_dag_is_parsed():
    from airflow_batchml.exceptions import AzureMLConfigurationError

    with pytest.raises(AzureMLConfigurationError, match="blob_path_ends_with"):
        EventGridBlobSensor(task_id="wait", queue_name="events", container_name="c", blob_path_ends_with="/x")
