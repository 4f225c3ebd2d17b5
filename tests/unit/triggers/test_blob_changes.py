"""WasbBlobChangeTrigger's loop without storage: ``poll`` is replaced by a script of outcomes.

What reaches storage (listing, pagination, real errors) is covered against Azurite in
tests/integration/blob_changes; here: serialisation, event shapes, when state is saved, backoff, and
that a permanent error is reported once and never in a tight loop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from airflow.sdk import Asset, AssetWatcher

from airflow_batchml.changes import BlobEntry, ChangeSet
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.datastores import DatastoreBlobHook
from airflow_batchml.triggers.blob_changes import BlobListingTransientError, WasbBlobChangeTrigger

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Store:
    def __init__(self, value=None):
        self.value, self.writes = value, []

    async def aget(self, key, default=None):
        return self.value if self.value is not None else default

    async def aset(self, key, value):
        self.value = value
        self.writes.append(value)


def change(*names: str, state: dict | None = None) -> ChangeSet:
    added = [BlobEntry(n, f"etag-{n}", T0, 3) for n in names]
    return ChangeSet(added, [], [], state or {"v": 1, "watermark": None, "etags": {}, "n": len(names)}, True)


def scripted(trigger: WasbBlobChangeTrigger, outcomes: list) -> list:
    """Make ``trigger.poll`` return (or raise) the outcomes in order; returns the list of poll calls."""
    calls = []

    async def poll(hook, state):
        calls.append(state)
        outcome = outcomes.pop(0) if outcomes else ChangeSet([], [], [], state, False)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome, "https://acct.blob.core.windows.net/"

    trigger.poll = poll
    return calls


def make(**kwargs) -> WasbBlobChangeTrigger:
    return WasbBlobChangeTrigger("landing", **{"prefix": "in", "poll_interval": 0, **kwargs})


def test_serialize_round_trips_every_constructor_argument():
    trigger = make(recursive=True, glob="*.csv", event_per_blob=True, state={"v": 1, "watermark": None, "etags": {}})
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_batchml.triggers.blob_changes.WasbBlobChangeTrigger"
    assert WasbBlobChangeTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert kwargs["glob"] == "*.csv" and kwargs["recursive"] is True


def test_usable_in_an_asset_watcher():
    watcher = AssetWatcher(name="landing_watcher", trigger=make())
    Asset("landing-in", watchers=[watcher])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"glob": "[x"}, "glob"), ({"page_size": 0}, "page_size"), ({"retry_delay": 0}, "retry_delay")],
)
def test_bad_arguments_fail_at_construction(kwargs, field):
    with pytest.raises(AzureMLConfigurationError) as err:
        make(**kwargs)
    assert err.value.field == field


def test_state_key_separates_folders_and_options():
    assert make().state_key != make(recursive=True).state_key != make(prefix="out").state_key
    assert make(prefix="in").state_key == make(prefix="/in/").state_key
    assert make(ignore_same_content=True).state_key != make().state_key
    assert make(ignore_same_content=True).serialize()[1]["ignore_same_content"] is True


async def test_one_event_per_poll_then_state_saved_at_the_next_cycle():
    store, trigger = Store(), make()
    trigger.asset_state_store = store
    calls = scripted(trigger, [change("in/a", "in/b")])
    events = trigger.run()
    event = (await anext(events)).payload
    assert [b["name"] for b in event["blobs"]] == ["in/a", "in/b"]
    assert event["blobs"][0]["uri"] == "https://acct.blob.core.windows.net/landing/in/a"
    assert store.writes == [] and "state" not in event
    nxt = asyncio.create_task(anext(events))
    while len(calls) < 2:
        await asyncio.sleep(0)
    nxt.cancel()
    await asyncio.gather(nxt, return_exceptions=True)
    assert store.writes == [{"v": 1, "watermark": None, "etags": {}, "n": 2}]
    assert calls[1] == store.writes[0]


async def test_event_per_blob_and_state_for_the_sensor():
    trigger = make(event_per_blob=True, emit_state=True)
    scripted(trigger, [change("in/a", "in/b")])
    events = trigger.run()
    first, second = (await anext(events)).payload, (await anext(events)).payload
    await events.aclose()
    assert [b["name"] for b in first["blobs"]] == ["in/a"] and "state" not in first
    assert [b["name"] for b in second["blobs"]] == ["in/b"] and second["state"]["n"] == 2


async def test_state_starts_from_the_store_then_the_argument():
    initial = {"v": 1, "watermark": None, "etags": {"x": "1"}}
    trigger = make(state=initial)
    calls = scripted(trigger, [change("in/a")])
    events = trigger.run()
    await anext(events)
    await events.aclose()
    assert calls == [initial]
    stored = {"v": 1, "watermark": None, "etags": {"y": "2"}}
    trigger = make(state=initial)
    trigger.asset_state_store = Store(stored)
    calls = scripted(trigger, [change("in/a")])
    events = trigger.run()
    await anext(events)
    await events.aclose()
    assert calls == [stored]


@pytest.fixture
def delays(monkeypatch) -> list[float]:
    """The trigger's sleeps, recorded instead of slept (each yields to the loop once)."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds):
        recorded.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("airflow_batchml.triggers.blob_changes.asyncio.sleep", recording_sleep)
    return recorded


async def test_transient_errors_back_off_exponentially(delays):
    trigger = make(retry_delay=1, max_retry_delay=4)
    scripted(trigger, [BlobListingTransientError("down")] * 5 + [change("in/a")])
    events = trigger.run()
    event = (await anext(events)).payload
    await events.aclose()
    assert delays == [1, 2, 4, 4, 4]
    assert event["status"] == "changes"


async def test_permanent_error_is_reported_once_and_rechecked_slowly(delays):
    trigger = make(max_retry_delay=60)
    error = AzureMLConfigurationError("container_name", "container 'landing' does not exist")
    scripted(trigger, [error, error, error, change("in/a")])
    events = trigger.run()
    first = (await anext(events)).payload
    second = (await anext(events)).payload
    await events.aclose()
    assert first["status"] == "error" and first["message"].startswith("container_name:")
    assert second["status"] == "changes"
    assert delays[:3] == [60, 60, 60]


def test_state_is_kept_for_every_watched_asset():
    """Airflow runs one trigger for all watchers with the same kwargs; each asset's store gets the state."""
    from airflow.sdk.execution_time.context import AssetStateStoreAccessors

    from airflow_batchml.triggers.blob_changes import _accessors

    store = AssetStateStoreAccessors(inlets=[Asset("landing-a"), Asset("landing-b")])
    assert [repr(a) for a in _accessors(store)] == [
        "<AssetStateStoreAccessor name='landing-a'>",
        "<AssetStateStoreAccessor name='landing-b'>",
    ]
    assert _accessors(None) == []


def on_datastore(**kwargs) -> WasbBlobChangeTrigger:
    return WasbBlobChangeTrigger(
        **{"datastore": "workspaceblobstore", "path": "landing/", "poll_interval": 0, **kwargs}
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "container_name"),
        ({"container_name": ""}, "container_name"),
        ({"container_name": "c", "path": "landing/"}, "path"),
        ({"container_name": "c", "azure_ml_conn_id": "azure_ml_default"}, "azure_ml_conn_id"),
        ({"datastore": "workspaceblobstore", "prefix": "landing/"}, "prefix"),
        ({"datastore": "workspaceblobstore", "wasb_conn_id": "wasb_default"}, "wasb_conn_id"),
        ({"datastore": "../workspaces/other"}, "datastore"),
        ({"datastore": "workspaceblobstore", "path": 3}, "path"),
    ],
)
def test_exactly_one_way_to_name_the_folder(kwargs, field):
    with pytest.raises(AzureMLConfigurationError) as err:
        WasbBlobChangeTrigger(**kwargs)
    assert err.value.field == field


def test_datastore_form_serializes_its_constructor_arguments_with_defaults_filled_in():
    trigger = on_datastore(glob="*.csv")
    classpath, kwargs = trigger.serialize()
    assert WasbBlobChangeTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert {key: kwargs[key] for key in ("container_name", "prefix", "wasb_conn_id")} == {
        "container_name": None,
        "prefix": "",
        "wasb_conn_id": None,
    }
    assert (kwargs["datastore"], kwargs["path"], kwargs["azure_ml_conn_id"]) == (
        "workspaceblobstore",
        "landing/",
        "azure_ml_default",
    )
    assert make().serialize()[1]["wasb_conn_id"] == "wasb_default" and make().serialize()[1]["path"] is None
    AssetWatcher(name="landing_datastore_watcher", trigger=trigger)


def test_datastore_form_keys_its_state_by_the_resolved_container_as_the_container_form():
    trigger = on_datastore()
    with pytest.raises(RuntimeError):
        trigger.state_key  # noqa: B018  (the container is not known before the workspace is asked)
    trigger._resolved_container = "azureml-blobstore"
    container_form = WasbBlobChangeTrigger("azureml-blobstore", prefix="landing", datastore="workspaceblobstore")
    assert trigger.state_key == container_form.state_key


class FakeDatastoreHook(DatastoreBlobHook):
    """The datastore hook's surface the trigger uses; the container it resolves to is scripted."""

    def __init__(self, containers: list[str]) -> None:  # no workspace behind it
        self.containers, self.resets = containers, 0
        self.location = None

    @property
    def container_name(self):
        return self._container

    @container_name.setter
    def container_name(self, value):
        self._container = value

    async def get_async_conn(self):
        self.container_name = self.containers.pop(0) if len(self.containers) > 1 else self.containers[0]
        return object()

    async def reset(self):
        self.resets += 1

    async def close(self):
        pass


async def test_datastore_form_loads_its_state_once_resolved_and_again_when_the_container_moves():
    hook = FakeDatastoreHook(["a", "a", "b"])
    trigger = on_datastore()
    trigger.make_hook = lambda: hook
    keys = []

    class KeyedStore(Store):
        async def aget(self, key, default=None):
            keys.append(key)
            return {"v": 1, "watermark": None, "etags": {}, "key": key}

    trigger.asset_state_store = KeyedStore()
    calls = scripted(trigger, [change("landing/x"), change("landing/y"), change("landing/z")])
    events = trigger.run()
    for _ in range(3):
        await anext(events)
    await events.aclose()
    assert [key.split("/")[1] for key in keys] == ["a", "b"]
    assert calls[0]["key"] == keys[0] and calls[2]["key"] == keys[1]


async def test_datastore_form_asks_the_workspace_again_after_a_failure(delays, monkeypatch):
    hook = FakeDatastoreHook(["azureml-blobstore"])
    trigger = on_datastore()
    trigger.make_hook = lambda: hook

    async def failing_listing(*args, **kwargs):
        raise OSError("connection reset")

    monkeypatch.setattr("airflow_batchml.triggers.blob_changes.list_folder", failing_listing)
    events = trigger.run()
    task = asyncio.ensure_future(anext(events))
    for _ in range(1000):  # the loop's own sleeps are recorded, not slept: this takes a few turns
        if hook.resets == 2:
            break
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await events.aclose()
    assert hook.resets == 2  # each failed listing dropped the resolution (and its SAS) ...
    assert [delay for delay in delays if delay][:1] == [5.0]  # ... and was retried as a transient error
