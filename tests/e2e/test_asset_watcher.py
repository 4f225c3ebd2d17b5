"""Event-driven scheduling for real: the ``digits_on_blob_change`` DAG's AssetWatcher runs
``WasbBlobChangeTrigger`` in the triggerer, a blob landing in Azurite becomes an asset event, the event
starts a run, and the run scores exactly that blob. The same bytes uploaded again start nothing (the
watcher compares Content-MD5s); a modification starts exactly one more run."""

from __future__ import annotations

import time

import pytest

from tests.e2e.api import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
DAG_ID = "digits_on_blob_change"
BLOB = "digits/incoming/e2e-watched.png"
POLL_INTERVAL = 5  # DIGITS_WATCH_POLL_INTERVAL the e2e cluster sets for the DAG's watcher
RUN_TIMEOUT = 180


@pytest.fixture
def watched_dag(api, airflow, postgres, digits_endpoint):
    """Unpaused, re-parsed at once (watchers register at parse time), and the watcher's first listing done."""
    api.unpause(DAG_ID)
    api.reparse(DAG_ID)
    wait_for(lambda: first_listing_done(airflow, postgres), 120, "the watcher's first listing of digits/incoming/")
    yield
    api.pause(DAG_ID)


def first_listing_done(airflow, postgres) -> bool:
    """The trigger's listing request is in the triggerer's log, or its watermark is in the asset state store.

    Blobs written before the first listing count as existing (``include_existing=False``), so the test
    must not upload before it; the log shows it at once, the state store one poll later.
    """
    listing = "/devstoreaccount1/azureml-blobstore?restype="
    return listing in airflow.log_path("triggerer").read_text() or bool(
        postgres.query("SELECT 1 FROM asset_state_store")
    )


def test_changed_blobs_start_one_run_each_and_unchanged_blobs_none(watched_dag, api, stack):
    container = stack.container
    seven, three = digit_png(stack, 7), digit_png(stack, 3)

    container.upload_blob(BLOB, seven, overwrite=True)
    (first,) = wait_for(lambda: api.runs(DAG_ID), POLL_INTERVAL + 60, "a run started by the watcher")
    assert first["run_type"] == "asset_triggered"
    container.upload_blob(BLOB, seven, overwrite=True)  # the same bytes again: a new etag, the same MD5
    unchanged_since = time.monotonic()
    first_job = finished_job(api, stack, first)

    assert first_job["request"]["inputData"]["input_data"]["uri"].endswith(f"/paths/{BLOB}")
    # Azure ML names the job; the change job name (container, blob, etag) is what was requested.
    assert first_job["request"]["name"].startswith("digits-on-blob-change")
    assert "e2e-watched.png" in api.xcom(DAG_ID, first["dag_run_id"], "collect_predictions")
    time.sleep(max(0.0, unchanged_since + POLL_INTERVAL + 5 - time.monotonic()))  # at least one full poll
    assert len(api.runs(DAG_ID)) == 1

    container.upload_blob(BLOB, three, overwrite=True)
    runs = wait_for(lambda: len(runs := api.runs(DAG_ID)) > 1 and runs, POLL_INTERVAL + 60, "a run for the change")
    second_job = finished_job(api, stack, runs[-1])

    assert (
        second_job["request"]["inputData"]["input_data"]["uri"]
        == first_job["request"]["inputData"]["input_data"]["uri"]
    )
    assert second_job["request"]["name"] != first_job["request"]["name"]  # a new blob version, a new job
    assert len(api.runs(DAG_ID)) == 2  # the second run took at least one more poll: no repeat


def finished_job(api, stack, run: dict) -> dict:
    """Wait for the run to succeed; return the emulator's record of its one scoring job."""
    finished = api.wait_run(DAG_ID, run["dag_run_id"], timeout=RUN_TIMEOUT)
    assert finished["state"] == "success", api.failure_report(DAG_ID, run["dag_run_id"])
    job_name = api.xcom(DAG_ID, run["dag_run_id"], "score_image", map_index=0)["job_name"]
    jobs = stack.jobs("digits-batch")
    (job,) = [job for job in jobs if job["name"] == job_name]
    assert job["status"] == "Completed"
    assert [other for other in jobs if other["request"].get("name") == job["request"]["name"]] == [job]  # once
    return job


def digit_png(stack, digit: int) -> bytes:
    """A seeded test image whose label is ``digit``."""
    labels = stack.container.download_blob("digits/labels.csv").readall().decode().splitlines()
    name = next(line.split(",")[0] for line in labels if line.endswith(f",{digit}"))
    return stack.container.download_blob(f"digits/images/{name}").readall()
