"""OpenLineage events and the predictions Asset of a scoring task, with ``airflow dags test`` on the emulator.

``digits_predictions_publisher`` runs with the OpenLineage provider's file transport: its COMPLETE event
must name the scored folder and the output folder by the OpenLineage convention, with the account and
container the workspace's datastore has (as the SDK reads it). The task's outlet must queue
``digits_predictions_consumer`` (registered, unpaused, through ``airflow dags reserialize``), which then
runs on the predictions the job wrote where the Asset points. A second test calls the lineage method on a
pipeline deployment's XCom (two named outputs) with a data asset, a URL and an unknown datastore as inputs.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_batchml.exceptions import AzureMLNotFoundError
from tests.support.local_airflow import DAGS, DATASTORE, airflow_env, copy_images, dags_test, migrated_and_seeded
from tests.support.task_context import RecordingTaskInstance

pytestmark = pytest.mark.integration

PUBLISHER, CONSUMER = "digits_predictions_publisher", "digits_predictions_consumer"
LATEST = f"{DATASTORE}/digits/predictions/latest"
INPUT = "digits/lineage-in"


@pytest.fixture(scope="module")
def events_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("openlineage") / "events.jsonl"


@pytest.fixture(scope="module")
def stack(airflow_connections, tmp_path_factory, events_file):
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}
    env = airflow_env(
        tmp_path_factory.mktemp("airflow-home"),
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport),
        AIRFLOW__OPENLINEAGE__NAMESPACE="batchml-tests",
        AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT="120",  # the listener gives up after 10 s by default
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
    )
    with migrated_and_seeded(env) as env:
        yield env


@pytest.fixture(scope="module")
def hook(stack):
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    return AzureMLHook(polling_interval=0.5)


@pytest.fixture(scope="module")
def blob_namespace(hook) -> str:
    """The datastore's storage as the SDK reads it, named as the OpenLineage spec names Azure Blob Storage."""
    store = hook.get_client().datastores.get("workspaceblobstore")
    return f"wasbs://{store.container_name}@{store.account_name}.dfs.{hook.settings.storage_endpoint}"


@pytest.fixture(scope="module")
def endpoint(hook) -> str:
    """``digits-batch`` with a default deployment: the one ``digits_batch_scoring`` left, else deployed here."""
    try:
        if hook.get_batch_endpoint("digits-batch")["default_deployment"]:
            return "digits-batch"
    except AzureMLNotFoundError:
        pass
    hook.ensure_compute("batch-cluster", max_instances=2)
    hook.create_or_update_batch_endpoint(yaml_path=str(DAGS / "digits" / "endpoint.yml"))
    hook.create_or_update_batch_deployment(str(DAGS / "digits" / "deployment.yml"), set_default=True)
    return "digits-batch"


@pytest.fixture(scope="module")
def published(stack, endpoint, events_file) -> dict:
    from digits.storage import CONTAINER, wasb

    copy_images(wasb().get_conn().get_container_client(CONTAINER), INPUT, 6)
    reserialize = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "reserialize"], env=stack, capture_output=True, text=True, timeout=240
    )
    assert reserialize.returncode == 0, reserialize.stderr[-3000:]
    log = dags_test(stack, PUBLISHER, conf={"input": f"{DATASTORE}/{INPUT}/"})
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    return {"log": log, "events": events, "db": Path(stack["AIRFLOW_HOME"]) / "airflow.db"}


def test_the_complete_event_names_the_scored_and_written_folders(published, blob_namespace):
    (complete,) = [
        event
        for event in published["events"]
        if event["eventType"] == "COMPLETE" and event["job"]["name"] == f"{PUBLISHER}.score_images"
    ]
    datasets = {side: [(d["namespace"], d["name"]) for d in complete[side]] for side in ("inputs", "outputs")}
    assert datasets == {
        "inputs": [(blob_namespace, INPUT)],
        "outputs": [(blob_namespace, "digits/predictions/latest")],
    }
    assert complete["job"]["namespace"] == "batchml-tests"


def test_the_outlet_queues_the_consumer_which_reads_what_the_job_wrote(published, stack, hook):
    with sqlite3.connect(published["db"]) as db:
        (uri,) = db.execute("SELECT a.uri FROM asset_event e JOIN asset a ON a.id = e.asset_id").fetchone()
        queued = [row[0] for row in db.execute("SELECT target_dag_id FROM asset_dag_run_queue")]
    assert (uri, queued) == (LATEST, [CONSUMER])
    assert len(hook.read_datastore_file(f"{uri}/predictions.csv").decode().splitlines()) == 6
    summary = json.loads(re.search(r"PREDICTIONS SUMMARY (\{.*\})", dags_test(stack, CONSUMER)).group(1))
    assert sum(summary.values()) == 6


def test_named_outputs_and_a_data_asset_input_are_resolved_through_the_workspace(
    published, hook, ml_client, blob_namespace
):
    """The resumed-after-trigger path with a pipeline deployment's carry (two named outputs, no output_uri)."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Data

    from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator

    for name, folder in (("lineage-digits", INPUT), ("lineage-other", "digits/other")):
        ml_client.data.create_or_update(
            Data(name=name, version="1", path=f"{DATASTORE}/{folder}/", type=AssetTypes.URI_FOLDER)
        )
    workspace = f"/providers/Microsoft.MachineLearningServices/workspaces/{hook.settings.workspace_name}"
    operator = AzureMLInvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name="digits-batch",
        inputs={
            "input_data": "azureml:lineage-digits:1",
            "scale": 2.5,  # a literal: no dataset
            "extra": "https://acct.blob.core.windows.net/c/x.csv?sv=1&sig=SECRET",
            "missing": "azureml://datastores/nosuchstore/paths/x/",  # left out with a warning
            # another subscription's asset is not looked up in this workspace (where its name exists): left out
            "foreign": f"/subscriptions/other/resourceGroups/g{workspace}/data/lineage-other/versions/1",
        },
    )
    job_name = re.search(r"Job (\S+) completed", published["log"]).group(1)  # any completed job will do
    outputs = {"prepared": f"{DATASTORE}/p/prepared/", "scores": f"{DATASTORE}/p/scores%20all/"}
    carry = {"deployment_name": "prepare-and-score", "output_uri": None, "outputs": outputs}
    context = {"ti": RecordingTaskInstance(task_id="invoke")}
    operator.execute_complete(context, {"job_name": job_name, "status": "success"}, carry=carry)
    lineage = operator.get_openlineage_facets_on_complete(context["ti"])
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        (blob_namespace, INPUT),
        ("wasbs://c@acct.dfs.core.windows.net", "x.csv"),
    ]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        (blob_namespace, "p/prepared"),
        (blob_namespace, "p/scores all"),
    ]
