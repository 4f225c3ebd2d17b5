"""Every example DAG, end to end, with ``airflow dags test`` on the emulator + Azurite (deferrable path on).

The module shares one seeded stack and one migrated ``AIRFLOW_HOME``; the DAGs run in the order a user
would take them: ``digits_batch_scoring`` creates the endpoint the others use, and
``digits_second_deployment`` then replaces its default deployment. Each test stages what its DAG reads
(images in a slot or landing folder, a published pipeline, a schedule) and checks what the DAG changed.

``digits_on_blob_change`` runs by hand here: its ``AssetWatcher`` needs a triggerer, which ``dags test``
does not run. The test drives the DAG's own ``WasbBlobChangeTrigger`` (taken from the DAG file) against
Azurite to get the event a watcher would deliver, and passes that payload's blobs as the run's conf, so
the scoring path is the one a change takes. The watcher itself, under a real triggerer, is tested
elsewhere.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re

import pytest

from tests.support.local_airflow import (
    DAGS,
    DATASTORE,
    airflow_env,
    copy_images,
    dags_test,
    emulator_jobs,
    jobs_requested_as,
    migrated_and_seeded,
)

pytestmark = pytest.mark.integration

SLOT = "20260101T001500"
SMALL_FOLDER = f"digits/by-interval/{SLOT}"


@pytest.fixture(scope="module")
def stack(airflow_connections, tmp_path_factory):
    """Seed the digits data and migrate one AIRFLOW_HOME (in parallel); yields the ``dags test`` env."""
    with migrated_and_seeded(airflow_env(tmp_path_factory.mktemp("airflow-home"))) as env:
        yield env


@pytest.fixture(scope="module")
def blob_service(stack):
    from digits.storage import wasb

    return wasb().get_conn()


@pytest.fixture(scope="module")
def storage(blob_service):
    """The workspace datastore's container, where the digits DAGs read and write."""
    from digits.storage import CONTAINER

    return blob_service.get_container_client(CONTAINER)


@pytest.fixture(scope="module")
def hook(stack):
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    return AzureMLHook(polling_interval=0.5)


def test_digits_batch_scoring(stack):
    output = dags_test(stack, "digits_batch_scoring")
    summary = json.loads(re.search(r"DEMO SUMMARY (\{.*\})", output).group(1))
    assert summary["files_scored"] == 450
    assert summary["accuracy"] >= 0.9


def test_digits_second_deployment_promotes_the_better_model(stack, hook):
    output = dags_test(stack, "digits_second_deployment")
    logreg, forest = map(float, re.search(r"digits-logreg ([\d.]+), digits-forest ([\d.]+)", output).groups())
    assert forest >= logreg
    assert hook.get_batch_endpoint("digits-batch")["default_deployment"] == "digits-forest"
    assert hook.list_batch_deployments("digits-batch") == ["digits-forest"]


def test_digits_every_15_minutes_scores_the_slot_folder(stack, storage, hook):
    copy_images(storage, SMALL_FOLDER, 20)
    dags_test(stack, "digits_every_15_minutes", "2026-01-01T00:15:00+00:00")
    predictions = hook.read_datastore_file(f"{DATASTORE}/digits/scored/{SLOT}/predictions.csv").decode()
    assert len(predictions.splitlines()) == 20


def test_digits_on_blob_change_scores_each_changed_blob_once(stack, storage, hook, emulator):
    blobs = watcher_event(storage)["blobs"]
    assert len(blobs) == 3
    output = dags_test(stack, "digits_on_blob_change", conf={"blobs": blobs})
    assert "3 changed blob(s) to score" in output
    for blob in blobs:
        (job,) = jobs_requested_as(emulator, blob["job_name"])  # one job per change, whatever the retries
        assert (job["status"], job["spec"]["inputs"]) == ("Completed", [{"type": "uri_file", "uri": blob["uri"]}])
    # A re-delivered change carries the same job name, so submitting it again attaches instead of rescoring.
    again = hook.invoke_batch_endpoint("digits-batch", {"input_data": blobs[0]["uri"]}, job_name=blobs[0]["job_name"])
    (first,) = jobs_requested_as(emulator, blobs[0]["job_name"])
    assert (again["attached"], again["job_name"]) == (True, first["name"])


def watcher_event(storage) -> dict:
    """The event the DAG's own AssetWatcher trigger emits when three images land in its folder."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook

    from airflow_batchml.triggers.blob_changes import close_hook

    spec = importlib.util.spec_from_file_location("digits_on_blob_change_dag", DAGS / "digits_on_blob_change.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trigger = module.incoming_digits.watchers[0].trigger

    async def poll(state):
        hook = WasbAsyncHook(wasb_conn_id=trigger.wasb_conn_id)
        try:
            return await trigger.poll(hook, state)
        finally:
            await close_hook(hook)

    baseline, _ = asyncio.run(poll(None))
    copy_images(storage, trigger.prefix.rstrip("/"), 3, first=30)
    changes, account_url = asyncio.run(poll(baseline.state))
    (event,) = trigger.events(changes, account_url)
    return event


def test_digits_data_pipeline_stages_scores_publishes_cleans_up(stack, storage, blob_service):
    landing = "digits/landing"
    valid = copy_images(storage, landing, 12, first=100)
    storage.get_blob_client(f"{landing}/empty.png").upload_blob(b"", overwrite=True)
    storage.get_blob_client(f"{landing}/fake.png").upload_blob(b"not a png", overwrite=True)
    storage.get_blob_client(f"{landing}/notes.txt").upload_blob(b"not an image", overwrite=True)
    output = dags_test(stack, "digits_data_pipeline")
    assert "Staged 12 of 15 landed file(s)" in output
    curated = blob_service.get_container_client("curated")
    (published,) = [blob.name for blob in curated.list_blobs()]
    rows = curated.get_blob_client(published).download_blob().readall().decode().splitlines()
    assert rows[0] == "file,prediction"
    assert sorted(row.split(",")[0] for row in rows[1:]) == valid
    assert not list(storage.list_blobs(name_starts_with="digits/staging/"))


def test_digits_on_demand_uses_the_form_params(stack, emulator):
    conf = {
        "input_path": f"{DATASTORE}/{SMALL_FOLDER}/",
        "output_path": f"{DATASTORE}/digits/on-demand/",
        "deployment_name": "digits-forest",
        "mini_batch_size": 5,
        "instance_count": 2,
    }
    output = dags_test(stack, "digits_on_demand", conf=conf)
    (job_name,) = re.findall(r"Submitted job (\S+) \(\S+\) to digits-batch/digits-forest", output)
    job = emulator_jobs(emulator)[job_name]
    assert job["status"] == "Completed"
    assert (job["spec"]["mini_batch_size"], job["spec"]["instance_count"]) == (5, 2)
    assert job["progress"]["total"] == 4
    assert job["spec"]["output_uri"] == conf["output_path"]


def test_published_pipeline_runs_with_data_path_assignment(stack, emulator):
    published = emulator.request(
        "POST",
        "/_emulator/pipelines",
        json={
            "endpoint": "digits-batch",
            "data_path_parameter": "input_data",
            "parameters": {"process_count_per_node": 1},
        },
    ).json()
    conf = {"rest_endpoint": published["Endpoint"], "input_path": f"{DATASTORE}/{SMALL_FOLDER}/"}
    dags_test(stack, "published_pipeline", conf=conf)
    (run,) = [job for job in emulator_jobs(emulator).values() if job["experiment"] == "digits-from-airflow"]
    assert run["status"] == "Completed"
    assert run["request"]["parameterAssignments"] == {"process_count_per_node": 2}
    assert run["spec"]["inputs"][0]["uri"] == f"{DATASTORE}/{SMALL_FOLDER}/"


def test_schedule_housekeeping_disables_the_named_schedule(stack, hook):
    hook.create_or_update_schedule(
        name="digits-every-15-minutes", create_job="azureml:placeholder-job", frequency="minute", interval=15
    )
    dags_test(stack, "schedule_housekeeping")
    schedules = {s["name"]: s for s in hook.list_schedules(include_disabled=True)}
    assert schedules["digits-every-15-minutes"]["is_enabled"] is False
