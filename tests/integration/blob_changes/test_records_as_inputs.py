"""Change records as batch-scoring inputs on the emulator: whatever its blob's name, a record scores that blob.

Blob names are literal, but both record URI forms are URLs, so a name holding ``%``, ``#``, ``?``, a space,
a newline or non-ASCII text must be percent-encoded into the URI and decoded exactly once where the job
reads it; otherwise ``a%41.txt`` scores ``aA.txt`` and the job still completes.
"""

from __future__ import annotations

import asyncio

import pytest

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger
from tests.support.blob_changes import next_event
from tests.support.task_context import RecordingTaskInstance
from tests.support.workspace import DATA, wait_for_job

pytestmark = pytest.mark.integration

ENDPOINT = "changes-batch"
#: ``aA.txt`` is what ``a%41.txt`` becomes when its URI is not encoded (or is decoded twice).
AWKWARD_NAMES = ("a%41.txt", "aA.txt", "100%.txt", "hash#1.txt", "what?.txt", "a b.txt", "new\nline.txt", "été-字.txt")


@pytest.fixture(scope="module")
def workspace_container(airflow_connections) -> str:
    """The workspace datastore's container, behind an endpoint whose deployment labels each file it scores."""
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    azure_ml = AzureMLHook()
    azure_ml.ensure_compute("batch-cluster")
    azure_ml.create_or_update_batch_endpoint(ENDPOINT)
    azure_ml.create_or_update_batch_deployment(str(DATA / "deployment.yml"), endpoint_name=ENDPOINT, set_default=True)
    return azure_ml.get_client().datastores.get("workspaceblobstore").container_name


def change_records(container: str, folder: str, datastore: str | None) -> list[dict]:
    """The records the change trigger reports for the blobs already in ``folder`` (through wasb_default)."""
    trigger = WasbBlobChangeTrigger(container, prefix=folder, include_existing=True, datastore=datastore)

    async def first_event() -> dict:
        events = trigger.run()
        try:
            return await next_event(events)
        finally:
            await events.aclose()

    return asyncio.run(first_event())["blobs"]


@pytest.mark.parametrize("datastore", ["workspaceblobstore", None], ids=["datastore-uri", "blob-url"])
def test_each_record_scores_exactly_its_blob(workspace_container, wasb, hook, datastore):
    """Each record is one mapped task's input (a model deployment takes one input), as in the blob-change
    DAG; the file its job scored has the record's name and its blob's size."""
    folder = f"awkward-{datastore or 'url'}"
    for size, name in enumerate(AWKWARD_NAMES, start=1):
        wasb.load_string("x" * size, workspace_container, f"{folder}/{name}", overwrite=True)
    records = change_records(workspace_container, folder, datastore)
    submitted = [
        AzureMLInvokeBatchEndpointOperator(
            task_id="score", endpoint_name=ENDPOINT, inputs=record, wait_for_completion=False
        ).execute({"ti": RecordingTaskInstance(run_id=folder, map_index=index)})
        for index, record in enumerate(records)
    ]
    scored = []
    for job in submitted:
        assert wait_for_job(hook, job["job_name"])["status"] == "Completed"
        scored += hook.read_datastore_file(f"{job['output_uri']}predictions.csv").decode().splitlines()
    label = (DATA / "model" / "model.txt").read_text().strip()
    expected = "".join(f"{name},{label},{size}\n" for size, name in enumerate(AWKWARD_NAMES, start=1))
    assert sorted(scored) == sorted(expected.splitlines())  # a name's newline splits its row alike
