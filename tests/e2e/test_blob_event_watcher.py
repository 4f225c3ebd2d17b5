"""Event Grid blob events start DAG runs for real: ``EventGridBlobTrigger`` runs in the triggerer as an
``AssetWatcher``, reading the Storage queue that Event Grid would deliver to (Azurite's queue service; the
events are written by the stand-in publisher of ``tests/support/event_grid.py``, since Azurite has no Event Grid).

- ``digits_on_blob_event``, the example DAG: each created image starts one run, which scores that image in
  one job named from the event's record; the same event delivered again starts a run that attaches to that
  job. (Events stored within one scheduler loop share a run, as Airflow queues asset events: the test
  publishes one at a time, and the DAG maps over all the records of its run.)
- ``e2e_blob_event_redelivery`` (``dags/blob_event_redelivery.py``, a 20 s visibility timeout): the
  triggerer is killed after its trigger received a message and before Airflow stored the event. To make
  that window certain rather than likely, the triggerer's supervisor (the process that writes trigger
  events to the database; the trigger runs in its child) is stopped with SIGSTOP before the event is
  published: the trigger receives the message and yields, and nothing reaches the database. The whole
  process tree is then killed and the triggerer started again: the message must still be in the queue,
  come back after its visibility timeout and start exactly one run.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.e2e.api import wait_for
from tests.e2e.dags import blob_event_redelivery as redelivery
from tests.e2e.dags.blob_event_redelivery import CONTAINER
from tests.e2e.event_queue import EventQueue, with_event_queues
from tests.support.event_grid import AzuriteQueueProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
EXAMPLE_DAG = "digits_on_blob_event"
EXAMPLE_QUEUE = "digits-blob-events"  # the DAG's default: the cluster does not set DIGITS_EVENT_QUEUE
EXAMPLE_FOLDER = "digits/events"
EXAMPLE_POLL = 5
REDELIVERY_DAG = "e2e_blob_event_redelivery"
RUN_TIMEOUT = 180
# Long enough for a trigger that deletes a message at its next poll after the yield to have done so.
HOLD = 3 * redelivery.POLL_INTERVAL
# The restarted triggerer takes the trigger over once the killed one's heartbeat is older than Airflow's
# triggerer_health_check_threshold (30 s), then waits out what is left of the visibility timeout.
REDELIVERY_TIMEOUT = 120


@pytest.fixture(scope="module")
def queue_service(e2e_state) -> Iterator[AzuriteQueueProcess]:
    process = AzuriteQueueProcess(e2e_state / "azurite-queue")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def storage(queue_service, stack) -> str:
    """The test's own connection string to Azurite's blob and queue services."""
    return queue_service.connection_string(stack.azurite.connection_string)


@pytest.fixture(scope="module")
def event_cluster(airflow, queue_service, digits_endpoint):
    """The cluster with queues and the test DAGs (after the demo's set-up, which restarts would disturb)."""
    with with_event_queues(airflow, queue_service):
        yield airflow


@pytest.fixture(scope="module")
def example_queue(event_cluster, storage, api) -> Iterator[EventQueue]:
    """The example DAG's queue, created before its watcher starts (a missing queue is an error event)."""
    queue = EventQueue(storage, EXAMPLE_QUEUE)
    queue.create()
    api.unpause(EXAMPLE_DAG)
    api.reparse(EXAMPLE_DAG)
    yield queue
    api.pause(EXAMPLE_DAG)


def test_each_created_blob_starts_one_run_scoring_it_and_a_second_delivery_attaches_to_its_job(
    example_queue, api, stack
):
    names = land(stack, EXAMPLE_FOLDER, "e2e-event", 3)
    events = []
    for count, name in enumerate(names, 1):  # one by one: events stored within one scheduler loop share a run
        events.append(example_queue.publish_created(CONTAINER, name))
        wait_for(lambda count=count: len(api.runs(EXAMPLE_DAG)) >= count, EXAMPLE_POLL + 60, f"the run for {name}")
    example_queue.send_again(events[0])  # Event Grid delivers at least once: the same event, after hand-over
    wait_for(lambda: len(api.runs(EXAMPLE_DAG)) >= 4, EXAMPLE_POLL + 60, "the run for the second delivery")
    wait_for(lambda: example_queue.held() == 0, 30, "the handed-over messages to be deleted")

    runs = api.runs(EXAMPLE_DAG)
    assert {run["run_type"] for run in runs} == {"asset_triggered"}
    run_ids = [run["dag_run_id"] for run in runs]
    records = [delivered(api, EXAMPLE_DAG, run_id) for run_id in run_ids]
    assert [[record["name"] for record in found] for found in records] == [[name] for name in [*names, names[0]]]
    assert records[3] == records[0]  # the same record, hence the same job name
    jobs = [scored_once(api, stack, run_id, record)["name"] for run_id, (record,) in zip(run_ids, records, strict=True)]
    assert len(set(jobs[:3])) == 3
    assert jobs[3] == jobs[0]  # the second delivery's run attached to the first one's job
    assert len(api.runs(EXAMPLE_DAG)) == 4  # the queue is empty: nothing more can come


def test_a_message_received_but_not_handed_over_comes_back_after_a_triggerer_kill(event_cluster, storage, api, stack):
    airflow = event_cluster
    queue = EventQueue(storage, redelivery.QUEUE)
    queue.create()
    log_start = airflow.log_path("triggerer").stat().st_size
    api.unpause(REDELIVERY_DAG)
    api.reparse(REDELIVERY_DAG)
    # The trigger has its connection and queue client (which the stopped supervisor could not serve now).
    wait_for(lambda: f"/{redelivery.QUEUE}/messages" in log_since(airflow, log_start), 90, "the watcher's first read")
    (name,) = land(stack, redelivery.FOLDER.rstrip("/"), "held", 1)

    os.kill(airflow.procs["triggerer"].pid, signal.SIGSTOP)
    try:
        queue.publish_created(CONTAINER, name)
        wait_for(lambda: queue.held() == 1 and queue.visible() == 0, 30, "the trigger to receive the message")
        time.sleep(HOLD)  # what a trigger that deletes after the yield would do meanwhile
        held_while_stopped = queue.held()
        events_while_stopped = asset_events(api, redelivery.redelivered.name)
    finally:
        airflow.kill("triggerer")
        since = time.time()
        airflow.start("triggerer")
        airflow.wait_healthy(["triggerer"], since=since)

    assert events_while_stopped == []  # received by the trigger, not in Airflow's database
    assert held_while_stopped == 1, "the trigger deleted a message whose event Airflow did not have: it is lost"
    (run,) = wait_for(lambda: api.runs(REDELIVERY_DAG), REDELIVERY_TIMEOUT, "the redelivered event's run")
    wait_for(lambda: queue.held() == 0, 30, "the redelivered message to be deleted")
    finished = api.wait_run(REDELIVERY_DAG, run["dag_run_id"], timeout=RUN_TIMEOUT)
    assert finished["state"] == "success", api.failure_report(REDELIVERY_DAG, run["dag_run_id"])
    assert api.xcom(REDELIVERY_DAG, run["dag_run_id"], "delivered_blobs") == [name]
    assert [record["name"] for record in delivered(api, REDELIVERY_DAG, run["dag_run_id"])] == [name]
    assert len(asset_events(api, redelivery.redelivered.name)) == 1
    assert len(api.runs(REDELIVERY_DAG)) == 1
    api.pause(REDELIVERY_DAG)


def land(stack, folder: str, stem: str, count: int) -> list[str]:
    """``count`` seeded digit images written to ``<folder>/<stem>-<n>.png``; their blob names."""
    stack.copy_digits(folder, stem, count)
    return [f"{folder}/{stem}-{index:04d}.png" for index in range(count)]


def delivered(api, dag_id: str, run_id: str) -> list[dict]:
    """The blob records in the asset events that started the run."""
    events = api.json("GET", f"/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents")["asset_events"]
    return [blob for event in events for blob in event["extra"]["payload"]["blobs"]]


def asset_events(api, asset_name: str) -> list[dict]:
    return api.json("GET", "/assets/events", params={"name_pattern": asset_name})["asset_events"]


def scored_once(api, stack, run_id: str, record: dict) -> dict:
    """Wait for the run to succeed; the one emulator job submitted under the record's job name."""
    finished = api.wait_run(EXAMPLE_DAG, run_id, timeout=RUN_TIMEOUT)
    assert finished["state"] == "success", api.failure_report(EXAMPLE_DAG, run_id)
    job_name = api.xcom(EXAMPLE_DAG, run_id, "score_image", map_index=0)["job_name"]
    (job,) = [job for job in stack.jobs("digits-batch") if job["request"].get("name") == record["job_name"]]
    assert job["name"] == job_name
    assert job["status"] == "Completed"
    assert job["request"]["inputData"]["input_data"]["uri"].endswith(f"/paths/{record['name']}")
    return job


def log_since(airflow, offset: int) -> str:
    with airflow.log_path("triggerer").open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")
