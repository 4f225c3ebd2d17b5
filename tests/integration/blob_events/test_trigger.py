"""EventGridBlobTrigger against Azurite's real blob and queue services, events published as Event Grid would."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas
from azure.storage.queue.aio import QueueClient

from airflow_batchml.job_names import change_job_name
from airflow_batchml.triggers.blob_events import EventGridBlobTrigger
from tests.support.blob_triggers import CONN_ID, TIMEOUT, land, queued, take, trigger
from tests.support.event_grid import EventGridPublisher, encode


def logged(capfd: pytest.CaptureFixture[str]) -> str:
    """What the trigger logged (Airflow's structured logger writes to the process output, not to caplog)."""
    out, err = capfd.readouterr()
    return out + err


async def wait_until_queue_holds(queue: QueueClient, count: int, generator: Any) -> None:
    """Let the trigger run (resumed past its last event) until the queue holds ``count`` messages."""
    runner = asyncio.create_task(anext(generator))
    try:
        async with asyncio.timeout(TIMEOUT):
            while await queued(queue) != count:
                await asyncio.sleep(0.05)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_one_record_per_created_blob_as_the_listing_trigger_builds_it(wasb_conn, container, queue, publisher):
    landed = [await land(container, publisher, f"in/{i}.csv") for i in range(3)]
    run = trigger(queue, container).run()
    try:
        events = await take(run, 3)
    finally:
        await run.aclose()
    records = [event["blobs"][0] for event in events]
    assert [r["name"] for r in records] == ["in/0.csv", "in/1.csv", "in/2.csv"]
    for record, props in zip(records, landed, strict=True):
        assert record["etag"] == props.etag
        assert record["job_name"] == change_job_name("blob-change", container.container_name, props.name, props.etag)
        assert record["uri"] == container.get_blob_client(props.name).url
        assert (record["change"], record["type"], record["size"]) == ("added", "uri_file", 6)
    assert all(event["status"] == "changes" and event["queue"] == queue.queue_name for event in events)


async def test_filters_ignore_other_containers_paths_suffixes_empty_blobs_and_deletions_and_log_the_count(
    wasb_conn, container, queue, publisher, capfd
):
    await land(container, publisher, "in/wanted.csv")
    await land(container, publisher, "in/wrong-suffix.txt")
    await land(container, publisher, "out/other-folder.csv")
    await land(container, publisher, "in/empty.csv", b"")
    await publisher.deleted(container.container_name, "in/gone.csv")
    await publisher.deleted("another-container", "in/x.csv")
    run = trigger(queue, container, blob_path_begins_with="in/", blob_path_ends_with=".csv").run()
    try:
        (event,) = await take(run, 1)
        assert [blob["name"] for blob in event["blobs"]] == ["in/wanted.csv"]
        assert event["deleted"] == []
        assert "5 message(s) for other containers, paths or event types ignored" in logged(capfd)
        await wait_until_queue_holds(queue, 0, run)  # ignored ones are deleted at once, the wanted one after hand-over
    finally:
        await run.aclose()


async def test_deleted_blobs_are_reported_when_asked_and_cloud_events_are_read_too(wasb_conn, container, queue):
    publisher = EventGridPublisher(queue, cloud_events=True)
    await land(container, publisher, "in/new.csv")
    await publisher.deleted(container.container_name, "in/old.csv")
    run = trigger(queue, container, events=["created", "deleted"], event_per_blob=False).run()
    try:
        (event,) = await take(run, 1)
    finally:
        await run.aclose()
    assert [blob["name"] for blob in event["blobs"]] == ["in/new.csv"]
    assert event["deleted"] == ["in/old.csv"]


async def test_a_message_is_deleted_only_after_hand_over_and_a_restart_before_it_redelivers(
    wasb_conn, container, queue, publisher
):
    props = await land(container, publisher, "in/once.csv")
    first = trigger(queue, container, visibility_timeout=2).run()
    (event,) = await take(first, 1)
    # run() outside ack mode (the sensor's trigger, a direct caller) stops here: the event was yielded but
    # the generator was never resumed past it.
    await first.aclose()
    assert await queued(queue) == 1
    second = trigger(queue, container, visibility_timeout=2).run()
    try:
        (again,) = await take(second, 1)  # after the visibility timeout the same message comes back
        assert again["blobs"] == event["blobs"]
        assert again["blobs"][0]["job_name"] == change_job_name(
            "blob-change", container.container_name, "in/once.csv", props.etag
        )
        assert await queued(queue) == 1
        await wait_until_queue_holds(queue, 0, second)  # resumed past the yield: now it is deleted
    finally:
        await second.aclose()


async def test_unreadable_and_too_often_delivered_messages_move_to_the_poison_queue_verbatim(
    wasb_conn, storage, container, queue, publisher, capfd
):
    await land(container, publisher, "in/keeps-failing.csv")
    for _ in range(3):  # three receivers took it and never finished with it
        async for message in queue.receive_messages(visibility_timeout=1, max_messages=1):
            await queue.update_message(message, visibility_timeout=0)
    await queue.send_message("this is not an event")
    await queue.send_message(encode({"eventType": "Microsoft.Storage.BlobCreated", "subject": "/nowhere"}))
    run = trigger(queue, container, max_deliveries=2).run()
    try:
        await wait_until_queue_holds(queue, 0, run)
    finally:
        await run.aclose()
    async with QueueClient.from_connection_string(storage, f"{queue.queue_name}-poison") as poison:
        contents = [message.content async for message in poison.receive_messages(max_messages=32)]
    assert len(contents) == 3
    assert "this is not an event" in contents
    output = logged(capfd)
    assert "delivered 4 times (max_deliveries 2)" in output
    assert "neither JSON nor base64-encoded JSON" in output
    assert "'/nowhere' does not name a blob" in output


async def test_a_missing_queue_is_one_error_event_naming_it(wasb_conn, container, queue):
    run = EventGridBlobTrigger("no-such-queue", container.container_name, wasb_conn_id=CONN_ID).run()
    try:
        (event,) = await take(run, 1)
    finally:
        await run.aclose()
    assert event["status"] == "error"
    assert "queue_name" in event["message"] and "'no-such-queue' does not exist" in event["message"]


async def test_a_missing_connection_is_an_error_event_naming_it(container, queue):
    run = EventGridBlobTrigger(queue.queue_name, container.container_name, wasb_conn_id="no_such_conn").run()
    try:
        (event,) = await take(run, 1)
    finally:
        await run.aclose()
    assert event["status"] == "error" and "'no_such_conn' is not defined" in event["message"]


async def test_an_unreachable_queue_endpoint_is_an_error_event(azurite, container, queue, monkeypatch):
    from airflow_batchml_emulator.stack import free_port

    closed = f"{azurite.rstrip(';')};QueueEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    monkeypatch.setenv(
        "AIRFLOW_CONN_DEAD_QUEUE", json.dumps({"conn_type": "wasb", "extra": {"connection_string": closed}})
    )
    run = EventGridBlobTrigger(queue.queue_name, container.container_name, wasb_conn_id="dead_queue").run()
    try:
        (event,) = await take(run, 1)
    finally:
        await run.aclose()
    assert event["status"] == "error" and "cannot be reached" in event["message"]


async def test_a_credential_without_queue_access_is_an_error_event(
    storage, azurite_queue, container, queue, monkeypatch
):
    """An account SAS for the blob service only: the queue service refuses it."""
    from azure.storage.blob import BlobServiceClient

    blob_service = BlobServiceClient.from_connection_string(storage)
    sas = generate_account_sas(
        blob_service.account_name,
        blob_service.credential.account_key,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, list=True, process=True, delete=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    endpoints = f"BlobEndpoint={blob_service.url.rstrip('/')};QueueEndpoint={azurite_queue.endpoint}"
    conn_str = f"{endpoints};SharedAccessSignature={sas}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_BLOB_ONLY", json.dumps({"conn_type": "wasb", "extra": {"connection_string": conn_str}})
    )
    run = EventGridBlobTrigger(queue.queue_name, container.container_name, wasb_conn_id="blob_only").run()
    try:
        (event,) = await take(run, 1)
    finally:
        await run.aclose()
    assert event["status"] == "error" and "storage refused reading queue" in event["message"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"blob_path_begins_with": "/c/blobs/in"}, "blob_path_begins_with"),
        ({"events": ["written"]}, "events"),
        ({"queue_name": "Bad_Queue"}, "queue_name"),
        ({"visibility_timeout": 5, "poll_interval": 10}, "visibility_timeout"),
    ],
)
def test_malformed_filters_fail_where_the_trigger_is_built(kwargs, field):
    from airflow_batchml.exceptions import AzureMLConfigurationError

    options = {"queue_name": "events", "container_name": "c", **kwargs}
    with pytest.raises(AzureMLConfigurationError, match=field):
        EventGridBlobTrigger(**options)
