"""The datastore form of the blob-change trigger and sensor, through the real emulator and the real Azurite.

``datastore="workspaceblobstore", path="landing/"``: the trigger asks the emulator's workspace for the
datastore (its container and a SAS from ``listSecrets``) over ARM, then lists through the emulator's storage
proxy under the production host form ``https://devstoreaccount1.blob.<suffix>``, exactly as azure-ai-ml
reaches storage (the process gets the ``HTTPS_PROXY``/``NO_PROXY`` the stack prints). The same folder is
watched in the container form (``container_name`` + WASB connection straight to Azurite) to show that both
report identical records and keep their state under one key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.storage.blob.aio import BlobServiceClient

from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger, close_hook
from tests.support.blob_changes import MemoryAssetStore, next_event, set_connection, upload
from tests.support.blob_triggers import until

pytestmark = pytest.mark.integration

AML_CONN = "blob_changes_aml"
WASB_CONN = "blob_changes_workspace_wasb"
DATASTORE = "workspaceblobstore"


@pytest.fixture
def workspace(emulator, azurite, monkeypatch) -> str:
    """The emulator's azure_ml connection (and the storage proxy variables) plus a WASB connection on the same
    Azurite; returns the datastore's container, read with the real azure-ai-ml client."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{AML_CONN.upper()}", emulator.connection_json.read_text())
    env = emulator.storage_env()
    assert {"HTTPS_PROXY", "NO_PROXY"} <= set(env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    set_connection(monkeypatch, WASB_CONN, azurite)
    return "azureml-blobstore"


@pytest.fixture
async def landing(azurite, workspace):
    """The datastore's container, written straight to Azurite."""
    async with BlobServiceClient.from_connection_string(azurite) as client:
        yield client.get_container_client(workspace)


def on_datastore(**kwargs) -> WasbBlobChangeTrigger:
    options = {"datastore": DATASTORE, "path": "landing/", "azure_ml_conn_id": AML_CONN, "job_name_prefix": "v1-change"}
    timing = {"poll_interval": 0, "retry_delay": 0.05, "max_retry_delay": 0.5}
    return WasbBlobChangeTrigger(**options | timing | kwargs)


def on_container(container: str) -> WasbBlobChangeTrigger:
    return WasbBlobChangeTrigger(
        container, prefix="landing/", wasb_conn_id=WASB_CONN, datastore=DATASTORE, job_name_prefix="v1-change"
    )


async def poll(trigger: WasbBlobChangeTrigger, state: dict | None):
    """One poll through the trigger's own hook; returns (changes, events, hook)."""
    hook = trigger.make_hook()
    try:
        changes, account_url = await trigger.poll(hook, state)
    finally:
        await close_hook(hook)
    return changes, trigger.events(changes, account_url), hook


async def test_new_and_modified_blobs_in_landing_sub_folders_ignored_records_as_the_container_form(landing, workspace):
    tag = uuid.uuid4().hex[:8]
    await upload(landing, f"landing/existing-{tag}.csv", b"old\n")
    datastore_form, container_form = on_datastore(), on_container(workspace)
    ds_base, _, _ = await poll(datastore_form, None)
    wasb_base, _, _ = await poll(container_form, None)
    assert datastore_form.container == workspace
    assert datastore_form.state_key == container_form.state_key

    await upload(landing, f"landing/new-{tag}.csv")
    await upload(landing, f"landing/existing-{tag}.csv", b"new\n")
    await upload(landing, f"landing/sub/x-{tag}.csv")
    _, ds_events, _ = await poll(datastore_form, ds_base.state)
    _, wasb_events, _ = await poll(container_form, wasb_base.state)

    (event,) = ds_events
    mine = [blob for blob in event["blobs"] if tag in blob["name"]]
    assert [(b["change"], b["name"]) for b in mine] == [
        ("modified", f"landing/existing-{tag}.csv"),
        ("added", f"landing/new-{tag}.csv"),
    ]
    assert mine[1]["uri"] == f"azureml://datastores/{DATASTORE}/paths/landing/new-{tag}.csv"
    assert (event["container"], event["prefix"]) == (workspace, "landing/")
    assert ds_events == wasb_events  # records, job names, envelope: identical


async def test_watcher_runs_on_the_datastore_with_the_asset_state_store(landing, workspace):
    store, trigger = MemoryAssetStore(), on_datastore()
    trigger.asset_state_store = store
    baseline, _, _ = await poll(on_datastore(), None)
    await store.aset(on_container(workspace).state_key, baseline.state)  # a watcher moved from the container form
    name = f"landing/run-{uuid.uuid4().hex[:8]}.csv"
    await upload(landing, name)
    events = trigger.run()
    try:
        event = await next_event(events)
    finally:
        await events.aclose()
    assert event["status"] == "changes"
    assert name in [blob["name"] for blob in event["blobs"]]


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"datastore": "no_such_store"}, "datastore", "not a datastore of workspace"),
        ({"azure_ml_conn_id": "undefined_aml_conn"}, "azure_ml_conn_id", "not defined"),
    ],
)
async def test_permanent_errors_yield_one_event_naming_the_field(workspace, kwargs, field, text):
    trigger = on_datastore(**kwargs)
    attempts, connect = [], trigger.connect

    async def counted(hook):
        attempts.append(1)
        return await connect(hook)

    trigger.connect = counted
    events = trigger.run()
    event = await next_event(events)
    again = asyncio.ensure_future(anext(events))
    try:
        await until(lambda: len(attempts) >= 3)  # two re-checks after the first failure, each failing again
        assert not again.done()  # ... without a second event
    finally:
        again.cancel()
        await asyncio.gather(again, return_exceptions=True)
        await events.aclose()
    assert event["status"] == "error" and event["blobs"] == []
    assert event["message"].startswith(f"{field}: ") and text in event["message"]


async def test_a_denied_identity_is_an_error_naming_the_connection(emulator, workspace, monkeypatch):
    connection = json.loads(emulator.connection_json.read_text())
    connection["extra"]["token"] = "not-the-emulator-token"
    monkeypatch.setenv("AIRFLOW_CONN_BLOB_CHANGES_DENIED", json.dumps(connection))
    with pytest.raises(Exception) as err:
        await poll(on_datastore(azure_ml_conn_id="blob_changes_denied"), None)
    assert getattr(err.value, "field", None) == "azure_ml_conn_id" and "HTTP 401" in str(err.value)


async def test_a_transient_workspace_error_is_retried_without_an_error_event(emulator, landing, workspace):
    store, trigger = MemoryAssetStore(), on_datastore()
    trigger.asset_state_store = store
    baseline, _, _ = await poll(on_datastore(), None)
    await store.aset(on_container(workspace).state_key, baseline.state)
    rule = {"path_regex": f"/datastores/{DATASTORE}$", "method": "GET", "status": 503, "times": 2}
    emulator.request("POST", "/_emulator/faults", json=rule).raise_for_status()
    name = f"landing/after-outage-{uuid.uuid4().hex[:8]}.csv"
    await upload(landing, name)
    events = trigger.run()
    try:
        event = await next_event(events)
        assert emulator.request("GET", "/_emulator/faults").json()["value"] == []  # both 503s were served
    finally:
        await events.aclose()
        emulator.request("DELETE", "/_emulator/faults")
    assert event["status"] == "changes" and name in [blob["name"] for blob in event["blobs"]]


async def test_the_datastore_sas_stays_out_of_events_kwargs_reprs_and_logs(landing, workspace, caplog):
    caplog.set_level(logging.DEBUG)
    trigger = on_datastore(emit_state=True)
    hook = trigger.make_hook()
    try:
        baseline, _ = await trigger.poll(hook, None)
        await upload(landing, f"landing/secret-{uuid.uuid4().hex[:8]}.csv")
        changes, account_url = await trigger.poll(hook, baseline.state)
        signature = parse_qs(urlsplit(hook._client.url).query)["sig"][0]  # the SAS the workspace handed out
        shown = [json.dumps(trigger.events(changes, account_url)), repr(trigger), repr(hook), caplog.text]
    finally:
        await close_hook(hook)
    shown.append(json.dumps(trigger.serialize()))
    assert len(signature) > 20 and account_url is not None and "?" not in account_url
    assert not [text for text in shown if signature in text]


async def test_sensor_on_the_datastore_pokes_then_defers_and_resumes(landing, workspace):
    from airflow.sdk.exceptions import TaskDeferred

    from airflow_batchml.sensors.blob_changes import WasbBlobChangeSensor
    from tests.support.task_context import FakeTI

    tag = uuid.uuid4().hex[:8]
    task = WasbBlobChangeSensor(
        task_id="wait", datastore=DATASTORE, path="landing/", azure_ml_conn_id=AML_CONN, deferrable=True
    )
    ti = FakeTI()
    # The task starts in the next second: blobs earlier tests left in landing/ are older (one-second times).
    ti.start_date = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    with pytest.raises(TaskDeferred) as deferred:  # the check before deferring finds nothing new in landing/
        await asyncio.to_thread(task.execute, {"ti": ti})
    trigger = deferred.value.trigger
    assert trigger.serialize()[1]["datastore"] == DATASTORE and trigger.container_name is None
    while datetime.now(UTC) < ti.start_date:
        await asyncio.sleep(0.05)
    await upload(landing, f"landing/sub/ignored-{tag}.csv")
    await upload(landing, f"landing/late-{tag}.csv")
    events = trigger.run()
    try:
        event = await next_event(events)
    finally:
        await events.aclose()
    blobs = task.execute_complete({"ti": ti}, event)
    assert [b["name"] for b in blobs] == [f"landing/late-{tag}.csv"]
    assert blobs[0]["uri"].startswith(f"azureml://datastores/{DATASTORE}/paths/landing/")
