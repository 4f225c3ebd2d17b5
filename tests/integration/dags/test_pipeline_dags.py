"""The pipeline component DAGs (the SDK v1 published-pipeline scenarios on the v2 form), end to end.

``airflow dags test`` on the emulator + Azurite, in the order a user takes them: ``digits_pipeline_deployment``
deploys the two pipeline components the others invoke. The change-based DAG runs by hand here with the
payload its own ``AssetWatcher`` trigger emits (``dags test`` runs no triggerer), as ``test_example_dags``
does for the container form; the trigger here watches a datastore path, resolved through the workspace.
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import io
import json
import re

import pytest

from tests.support.local_airflow import (
    DAGS,
    DATASTORE,
    airflow_env,
    copy_images,
    dags_test,
    jobs_requested_as,
    migrated_and_seeded,
)

pytestmark = pytest.mark.integration

SLOT = "20260101T003000"


@pytest.fixture(scope="module")
def stack(airflow_connections, tmp_path_factory):
    with migrated_and_seeded(airflow_env(tmp_path_factory.mktemp("airflow-home"))) as env:
        yield env


@pytest.fixture(scope="module")
def storage(stack):
    from digits.storage import CONTAINER, wasb

    return wasb().get_conn().get_container_client(CONTAINER)


@pytest.fixture(scope="module")
def hook(stack):
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    return AzureMLHook(polling_interval=0.5)


@pytest.fixture(scope="module")
def deployed(stack):
    """``digits_pipeline_deployment``'s run log (it deploys what the other DAGs invoke)."""
    return dags_test(stack, "digits_pipeline_deployment")


def predictions(hook, uri: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(hook.read_datastore_file(uri.rstrip("/") + "/predictions.csv").decode())))


def test_deployment_dag_scores_with_a_literal_and_two_named_outputs(deployed, hook):
    summary = json.loads(re.search(r"PIPELINE SUMMARY (\{.*\})", deployed).group(1))
    assert summary["files_scored"] == 450 and summary["accuracy"] >= 0.9
    job = hook.get_client().jobs.get(summary["job_name"])
    steps = {child.display_name: child.status for child in hook.get_client().jobs.list(parent_job_name=job.name)}
    assert steps == {"prepare": "Completed", "score": "Completed"}
    features = hook.read_datastore_file(summary["outputs"]["features"].rstrip("/") + "/features.csv")
    assert len(features.decode().splitlines()) == 450
    assert "/digits/pipeline-scored/" in summary["outputs"]["predictions"]


def test_every_15_minutes_runs_the_pipeline_on_the_slot_folder(deployed, stack, storage, hook):
    names = copy_images(storage, f"digits/by-interval/{SLOT}", 12)
    dags_test(stack, "digits_pipeline_every_15_minutes", "2026-01-01T00:30:00+00:00")
    rows = predictions(hook, f"{DATASTORE}/digits/pipeline-by-interval/{SLOT}/predictions/")
    assert sorted(row["file"] for row in rows) == names


def test_on_blob_change_runs_the_one_file_pipeline_per_changed_file(deployed, stack, storage, emulator, monkeypatch):
    for key, value in emulator.storage_env().items():  # the datastore's storage host, reached as azure-ai-ml does
        monkeypatch.setenv(key, value)
    blobs = watcher_event(storage)["blobs"]
    assert sorted(blob["name"].rsplit("/", 1)[-1] for blob in blobs) == ["digit-0040.png", "digit-0041.png"]
    output = dags_test(stack, "digits_pipeline_on_blob_change", conf={"blobs": blobs})
    assert "2 changed file(s) to score" in output
    for blob in blobs:
        (job,) = jobs_requested_as(emulator, blob["job_name"])
        assert job["status"] == "Completed"
    collected = re.search(r"Predictions: (\{.*\})", output).group(1)
    assert set(json.loads(collected.replace("'", '"'))) == {"digit-0040.png", "digit-0041.png"}


def watcher_event(storage) -> dict:
    """What the DAG's own watcher emits when two images land in its folder and one in a sub-folder."""
    from airflow_batchml.triggers.blob_changes import close_hook

    spec = importlib.util.spec_from_file_location("pipeline_on_change_dag", DAGS / "digits_pipeline_on_blob_change.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trigger = module.landed_digits.watchers[0].trigger
    assert (trigger.datastore, trigger.path) == ("workspaceblobstore", "digits/pipeline-landing/")

    async def poll(state):
        hook = trigger.make_hook()
        try:
            return await trigger.poll(hook, state)
        finally:
            await close_hook(hook)

    baseline, _ = asyncio.run(poll(None))
    copy_images(storage, "digits/pipeline-landing", 2, first=40)
    copy_images(storage, "digits/pipeline-landing/sub", 1, first=42)  # a sub-folder: not a change of the folder
    changes, account_url = asyncio.run(poll(baseline.state))
    (event,) = trigger.events(changes, account_url)
    return event


def test_data_factory_dag_copies_scores_publishes_archives(deployed, stack, storage, hook):
    names = copy_images(storage, "digits/factory-landing", 8, first=200)
    output = dags_test(stack, "digits_pipeline_data_factory")
    assert "8 file(s) landed in digits/factory-landing" in output
    from digits.storage import wasb

    curated = wasb().get_conn().get_container_client("curated")
    (published,) = [blob.name for blob in curated.list_blobs(name_starts_with="digits/factory/")]
    rows = list(csv.DictReader(io.StringIO(curated.get_blob_client(published).download_blob().readall().decode())))
    assert sorted(row["file"] for row in rows) == names
    assert not list(storage.list_blobs(name_starts_with="digits/factory-landing/"))
    assert not list(storage.list_blobs(name_starts_with="digits/factory-staging/"))
    archived = [blob.name.rsplit("/", 1)[-1] for blob in storage.list_blobs(name_starts_with="digits/factory-archive/")]
    assert sorted(archived) == names
