"""WasbBlobChangeSensor against Azurite: poke and deferrable paths, watermark only on success, and the
records feeding a batch-scoring input with a job name that a second delivery reproduces."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_batchml.batch_job import BatchInput
from airflow_batchml.sensors.blob_changes import STATE_XCOM_KEY, WasbBlobChangeSensor
from tests.support.blob_changes import next_event, upload
from tests.support.task_context import FakeTI

pytestmark = pytest.mark.integration


def make_sensor(container, conn_id: str, **kwargs) -> WasbBlobChangeSensor:
    return WasbBlobChangeSensor(
        task_id="wait",
        container_name=container.container_name,
        prefix="in",
        wasb_conn_id=conn_id,
        job_name_prefix="score",
        poke_interval=0,
        **kwargs,
    )


def run_of(ti: FakeTI, run_id: str, previous_run: str | None, xcoms: dict) -> FakeTI:
    """The next run's task instance, seeing the given previous successful run and stored XComs."""
    nxt = FakeTI(previous_run=previous_run, xcoms=xcoms)
    nxt.run_id = run_id
    nxt.start_date = datetime.now(UTC)
    return nxt


def saved(ti: FakeTI) -> dict:
    return {("wait", STATE_XCOM_KEY, ti.run_id): ti.pushed[STATE_XCOM_KEY]}


async def poke(task: WasbBlobChangeSensor, ti: FakeTI):
    """One poke as the worker runs it (the sensor drives its own event loop, so use a thread)."""
    task.state = task.previous_state({"ti": ti})
    return await asyncio.to_thread(task.poke, {"ti": ti})


async def test_poke_reports_changes_since_the_task_started_then_since_its_last_success(container, wasb_conn):
    await upload(container, "in/before.csv")
    before = await container.get_blob_client("in/before.csv").get_blob_properties()
    task = make_sensor(container, wasb_conn)
    first = FakeTI()
    first.start_date = before.last_modified + timedelta(seconds=1)  # the task starts in the next second
    assert not (await poke(task, first)).is_done
    while datetime.now(UTC) < first.start_date:  # storage times have one-second resolution
        await asyncio.sleep(0.05)
    await upload(container, "in/new.csv")
    result = await poke(task, first)
    assert result.is_done and [r["name"] for r in result.xcom_value] == ["in/new.csv"]
    assert BatchInput.parse(result.xcom_value[0]).type == "uri_file"
    second = run_of(first, "run-3", first.run_id, saved(first))
    assert not (await poke(task, second)).is_done
    await upload(container, "in/newer.csv")
    assert [r["name"] for r in (await poke(task, second)).xcom_value] == ["in/newer.csv"]


async def test_a_failed_run_is_retried_on_the_same_changes(container, wasb_conn):
    task = make_sensor(container, wasb_conn)
    good = FakeTI()
    good.start_date = datetime.now(UTC) - timedelta(seconds=1)
    await upload(container, "in/a.csv")
    ok = await poke(task, good)
    await upload(container, "in/b.csv")
    failed = run_of(good, "run-3", good.run_id, saved(good))
    first_try = await poke(task, failed)  # it finds b, then a downstream step fails the run
    retry = run_of(good, "run-3", good.run_id, saved(good))  # still only run-2 succeeded
    second_try = await poke(task, retry)
    assert [r["name"] for r in ok.xcom_value] == ["in/a.csv"]
    assert second_try.xcom_value == first_try.xcom_value
    assert second_try.xcom_value[0]["job_name"] == first_try.xcom_value[0]["job_name"]


async def test_deferrable_waits_in_the_trigger_and_resumes_with_the_changes(container, wasb_conn):
    task = make_sensor(container, wasb_conn, deferrable=True)
    ti = FakeTI()
    ti.start_date = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(task.execute, {"ti": ti})
    trigger = deferred.value.trigger
    await upload(container, "in/late.csv")
    events = trigger.run()
    try:
        event = await next_event(events)
    finally:
        await events.aclose()
    blobs = task.execute_complete({"ti": ti}, event)
    assert [b["name"] for b in blobs] == ["in/late.csv"]
    assert ti.pushed[STATE_XCOM_KEY] == event["state"]
    nxt = run_of(ti, "run-3", ti.run_id, saved(ti))
    assert not (await poke(task, nxt)).is_done
