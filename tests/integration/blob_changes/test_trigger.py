"""WasbBlobChangeTrigger against a real Azurite through the provider's real WasbAsyncHook.

Events are collected from the real async generator with ``poll_interval=0``; the only waits are bounded
waits for a condition (an event, a saved state, a logged retry), never sleeps that hope for an order.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.job_names import change_job_name
from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger, close_hook
from tests.support.blob_changes import (
    MemoryAssetStore,
    next_event,
    sas_only_connection_string,
    set_connection,
    upload,
)
from tests.support.blob_triggers import until

pytestmark = pytest.mark.integration


def make_trigger(container, conn_id: str, store: MemoryAssetStore | None = None, **kwargs) -> WasbBlobChangeTrigger:
    kwargs = {"prefix": "in", "poll_interval": 0, "retry_delay": 0.05, "max_retry_delay": 0.5, **kwargs}
    trigger = WasbBlobChangeTrigger(container.container_name, wasb_conn_id=conn_id, **kwargs)
    trigger.asset_state_store = store
    return trigger


async def baseline(trigger: WasbBlobChangeTrigger, store: MemoryAssetStore) -> dict:
    """Save the first-poll baseline so later uploads are changes, without racing the generator."""
    hook = WasbAsyncHook(wasb_conn_id=trigger.wasb_conn_id)
    try:
        changes, _ = await trigger.poll(hook, None)
    finally:
        await close_hook(hook)
    await store.aset(trigger.state_key, changes.state)
    return changes.state


async def first_event(trigger: WasbBlobChangeTrigger) -> dict:
    """Run the trigger's generator until its first event, then close it (as the triggerer would)."""
    events = trigger.run()
    try:
        return await next_event(events)
    finally:
        await events.aclose()


def names(event: dict) -> list[str]:
    return [blob["name"] for blob in event["blobs"]]


async def test_added_blob_is_reported_with_input_uri_and_job_name(container, wasb_conn):
    await upload(container, "in/old.csv")
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store, job_name_prefix="score")
    await baseline(trigger, store)
    await upload(container, "in/new.csv")
    event = await first_event(trigger)
    assert event["status"] == "changes" and event["container"] == container.container_name
    assert event["prefix"] == "in/"
    [record] = event["blobs"]
    assert record["name"] == "in/new.csv" and record["change"] == "added" and record["size"] == 8
    assert record["uri"].endswith(f"/{container.container_name}/in/new.csv") and record["type"] == "uri_file"
    assert record["job_name"] == change_job_name("score", container.container_name, "in/new.csv", record["etag"])
    assert record["last_modified"].endswith("+00:00")


async def test_sas_only_connection_gives_record_uris_without_the_sas(container, azurite, monkeypatch):
    """A SAS-authenticated client's URL carries the SAS; the records keep the plain blob URL instead."""
    set_connection(monkeypatch, "sas_only_wasb", sas_only_connection_string(azurite))
    await upload(container, "in/a b#1.csv")
    event = await first_event(make_trigger(container, "sas_only_wasb", include_existing=True))
    [record] = event["blobs"]
    assert record["uri"] == container.get_blob_client("in/a b#1.csv").url  # as an account-key client names it
    assert "?" not in record["uri"] and "sig=" not in json.dumps(event)


async def test_modified_blob_is_reported_with_its_new_etag(container, wasb_conn):
    await upload(container, "in/a.csv", b"one")
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store)
    await baseline(trigger, store)
    first = await anext(container.list_blobs(name_starts_with="in/a.csv"))
    await upload(container, "in/a.csv", b"two!")
    event = await first_event(trigger)
    [record] = event["blobs"]
    assert record["name"] == "in/a.csv" and record["etag"] != first.etag and record["size"] == 4
    # Azurite resets creation time on overwrite, so an overwrite older than the settle window reads as
    # "added"; within it (as here) the remembered etag makes it "modified".
    assert record["change"] == "modified"


@pytest.mark.parametrize("ignore_same_content", [False, True])
async def test_same_bytes_written_again_count_only_without_content_comparison(
    container, wasb_conn, ignore_same_content
):
    """Azurite stores a Content-MD5 for single-shot uploads, as Azure does; the rewrite is followed by a
    real change, so the event after it shows whether the rewrite counted (no waiting for a non-event)."""
    await upload(container, "in/a.csv", b"same")
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store, ignore_same_content=ignore_same_content)
    await baseline(trigger, store)
    await upload(container, "in/a.csv", b"same")
    await upload(container, "in/b.csv", b"new")
    event = await first_event(trigger)
    assert names(event) == (["in/b.csv"] if ignore_same_content else ["in/a.csv", "in/b.csv"])


@pytest.mark.parametrize("recursive", [False, True])
async def test_subfolder_blob_is_ignored_unless_recursive(container, wasb_conn, recursive):
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store, recursive=recursive)
    await baseline(trigger, store)
    await upload(container, "in/sub/deep.csv")
    await upload(container, "in/top.csv")
    event = await first_event(trigger)
    assert names(event) == (["in/sub/deep.csv", "in/top.csv"] if recursive else ["in/top.csv"])


async def test_glob_and_folder_markers(container, wasb_conn):
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store, glob="*.csv")
    await baseline(trigger, store)
    await container.upload_blob("in/marker", b"", metadata={"hdi_isfolder": "true"})
    await upload(container, "in/skip.json")
    await upload(container, "in/take.csv")
    assert names(await first_event(trigger)) == ["in/take.csv"]


async def test_blob_written_while_listing_paginates_is_not_lost(container, wasb_conn, monkeypatch):
    """A blob that sorts before the current page, written mid-listing, comes in the next poll."""
    for i in range(6):
        await upload(container, f"in/m-{i}.csv")
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store, page_size=2, settle_seconds=0)
    await baseline(trigger, store)
    real_walk = ContainerClient.walk_blobs
    injected = []

    def walk_with_concurrent_writes(self, *args, **kwargs):
        async def items():
            async for item in real_walk(self, *args, **kwargs):
                yield item
                if not injected and item.name == "in/m-2.csv":
                    injected.append(await upload(container, "in/a-early.csv"))
                    injected.append(await upload(container, "in/z-late.csv"))

        return items()

    monkeypatch.setattr(ContainerClient, "walk_blobs", walk_with_concurrent_writes)
    await upload(container, "in/m-1.csv", b"changed")
    events = trigger.run()
    try:
        first = await next_event(events)
        second = await next_event(events)
    finally:
        await events.aclose()
    assert names(first) == ["in/m-1.csv", "in/z-late.csv"]
    assert names(second) == ["in/a-early.csv"]


@pytest.mark.parametrize("event_per_blob", [False, True])
async def test_many_changes_over_several_pages(container, wasb_conn, event_per_blob):
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store, page_size=3, event_per_blob=event_per_blob)
    await baseline(trigger, store)
    expected = [f"in/b-{i:02d}.csv" for i in range(25)]
    await asyncio.gather(*(upload(container, name) for name in expected))
    events = trigger.run()
    try:
        got = [await next_event(events) for _ in range(25 if event_per_blob else 1)]
    finally:
        await events.aclose()
    assert [name for event in got for name in names(event)] == expected


async def test_restart_between_polls_loses_nothing_and_repeats_nothing(container, wasb_conn):
    store = MemoryAssetStore()
    first = make_trigger(container, wasb_conn, store)
    await baseline(first, store)
    await upload(container, "in/one.csv")
    events = first.run()
    assert names(await next_event(events)) == ["in/one.csv"]
    writes = store.writes
    polling = asyncio.create_task(anext(events))
    await until(lambda: store.writes > writes)  # the state is saved as the next poll starts...
    polling.cancel()  # ...and the triggerer restarts there
    with pytest.raises(asyncio.CancelledError):
        await polling
    await upload(container, "in/two.csv")
    restarted = make_trigger(container, wasb_conn, store).run()
    try:
        assert names(await next_event(restarted)) == ["in/two.csv"]
    finally:
        await restarted.aclose()


async def test_restart_between_emitting_and_saving_redelivers_with_the_same_job_name(container, wasb_conn):
    store = MemoryAssetStore()
    first = make_trigger(container, wasb_conn, store)
    saved = await baseline(first, store)
    await upload(container, "in/one.csv")
    events = first.run()
    delivered = await next_event(events)
    await events.aclose()  # the triggerer dies before the generator is resumed: nothing saved
    assert await store.aget(first.state_key) == saved
    again = make_trigger(container, wasb_conn, store).run()
    try:
        redelivered = await next_event(again)
    finally:
        await again.aclose()
    assert redelivered["blobs"] == delivered["blobs"]
    assert redelivered["blobs"][0]["job_name"] == delivered["blobs"][0]["job_name"]


async def test_nothing_new_writes_nothing(container, wasb_conn):
    store = MemoryAssetStore()
    trigger = make_trigger(container, wasb_conn, store)
    await baseline(trigger, store)
    hook = WasbAsyncHook(wasb_conn_id=wasb_conn)
    try:
        changes, _ = await trigger.poll(hook, await store.aget(trigger.state_key))
    finally:
        await close_hook(hook)
    assert not changes.state_changed and changes.changed == []


async def test_keeps_going_through_an_outage_and_catches_up(outage_azurite, monkeypatch):
    set_connection(monkeypatch, "outage_wasb", outage_azurite.connection_string, retry_total=0)
    async with BlobServiceClient.from_connection_string(outage_azurite.connection_string) as client:
        container = client.get_container_client("outage")
        await container.create_container()
    store = MemoryAssetStore()
    trigger = make_trigger(container, "outage_wasb", store, retry_delay=0.05, max_retry_delay=0.2)
    await baseline(trigger, store)
    attempts, real_poll = [], trigger.poll

    async def counted_poll(*args):
        attempts.append(1)
        return await real_poll(*args)

    trigger.poll = counted_poll
    outage_azurite.stop()
    events = trigger.run()
    waiting = asyncio.create_task(next_event(events, timeout=60))
    try:
        await until(lambda: len(attempts) >= 5)  # five failed listings, backing off, no event
        assert not waiting.done()
        outage_azurite.start()
        async with BlobServiceClient.from_connection_string(outage_azurite.connection_string) as client:
            await upload(client.get_container_client("outage"), "in/after.csv")
        event = await waiting
    finally:
        if not waiting.done():
            waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await events.aclose()
    assert names(event) == ["in/after.csv"]


async def test_unknown_container_is_one_clear_error_event_without_spinning(azurite, wasb_conn):
    class Named:
        container_name = "no-such-container"

    trigger = make_trigger(Named, wasb_conn, MemoryAssetStore(), max_retry_delay=0.2)
    events = trigger.run()
    try:
        event = await next_event(events)
        assert event["status"] == "error" and "container_name" in event["message"]
        assert "no-such-container" in event["message"]
        with pytest.raises(TimeoutError):  # re-checked every max_retry_delay, but not re-reported
            await asyncio.wait_for(anext(events), 1.0)
    finally:
        await events.aclose()


async def test_prefix_that_is_a_blob_is_an_error(container, wasb_conn):
    await upload(container, "in/file.csv")
    trigger = make_trigger(container, wasb_conn, MemoryAssetStore(), prefix="in/file.csv")
    event = await first_event(trigger)
    assert event["status"] == "error" and event["message"].startswith("prefix:")


async def test_missing_connection_is_an_error(container):
    trigger = make_trigger(container, "no_such_wasb_conn", MemoryAssetStore())
    event = await first_event(trigger)
    assert event["status"] == "error" and "wasb_conn_id" in event["message"]
    assert "no_such_wasb_conn" in event["message"]


def test_bad_glob_fails_where_the_trigger_is_built():
    with pytest.raises(AzureMLConfigurationError, match="glob"):
        WasbBlobChangeTrigger("c", prefix="in", glob="[unclosed")
