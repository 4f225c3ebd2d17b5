"""The v1 example DAGs end to end with ``airflow dags test`` on the emulator: ``v1_housekeeping`` lists the
v1 schedules and published pipelines, then disables the ones its params name (a re-run changes nothing);
``published_pipeline`` runs a pipeline named by its published pipeline id.

These DAGs need no seeded data, so the module migrates its own AIRFLOW_HOME only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from airflow_batchml.hooks.azure_ml import AzureMLHook
from tests.support.local_airflow import airflow_env
from tests.support.published_pipelines import v1
from tests.support.workspace import upload_inputs

pytestmark = pytest.mark.integration

ENDPOINT = "v1-housekeeping"
FINISHED = re.compile(r"DagRun Finished: dag_id=(\S+),.* state=(\w+)")


@pytest.fixture(scope="module")
def env(airflow_connections, tmp_path_factory):
    env = airflow_env(tmp_path_factory.mktemp("airflow-home"))
    migrated = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=240
    )
    assert migrated.returncode == 0, (migrated.stdout + migrated.stderr)[-3000:]
    return env


@pytest.fixture(scope="module")
def v1_workspace(airflow_connections, emulator):
    """Two published pipelines on an endpoint, and a recurrence and a datastore schedule on the first."""
    AzureMLHook().create_or_update_batch_endpoint(ENDPOINT)
    pipelines = [
        emulator.request("POST", "/_emulator/pipelines", json={"endpoint": ENDPOINT, "name": name}).json()["Id"]
        for name in ("v1-nightly", "v1-on-landing")
    ]
    base = {"PipelineId": pipelines[0], "PipelineSubmissionInfo": {"ExperimentName": "v1"}}
    recurrence = {
        **base,
        "Name": "every-15",
        "ScheduleType": "0",
        "Recurrence": {"Frequency": "Minute", "Interval": 15},
    }
    trigger = {
        "DataStoreName": "workspaceblobstore",
        "PathOnDataStore": "landing",
        "DataPathParameterName": "input_data",
    }
    on_change = {**base, "Name": "on-landing", "ScheduleType": "1", "DataStoreTriggerInfo": trigger}
    schedules = [
        emulator.request("POST", f"{v1(emulator)}/Schedules/Create", json=body).json()["Id"]
        for body in (recurrence, on_change)
    ]
    return {"pipelines": pipelines, "schedules": schedules}


def dags_test(env: dict[str, str], conf: dict, dag_id: str = "v1_housekeeping") -> str:
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id, "-c", json.dumps(conf)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=280, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and FINISHED.findall(output) == [(dag_id, "success")], output[-6000:]
    return output


def test_v1_housekeeping_lists_then_disables_the_named_ids(env, v1_workspace):
    listing = dags_test(env, {})
    for entity_id in (*v1_workspace["pipelines"], *v1_workspace["schedules"]):
        assert entity_id in listing  # each one is logged with its id, so a user can copy it into the params

    conf = {"schedule_ids": v1_workspace["schedules"], "published_pipeline_ids": v1_workspace["pipelines"][:1]}
    dags_test(env, conf)
    hook = AzureMLHook()
    schedules = {item["id"]: item["status"] for item in hook.list_v1_schedules(include_disabled=True)}
    pipelines = {item["id"]: item["status"] for item in hook.list_published_pipelines(include_disabled=True)}
    assert [schedules[item] for item in v1_workspace["schedules"]] == ["Disabled", "Disabled"]
    assert [pipelines[item] for item in v1_workspace["pipelines"]] == ["Disabled", "Active"]

    again = dags_test(env, conf)  # disabling what is disabled changes nothing, and succeeds
    assert f"schedule_ids {v1_workspace['schedules'][0]}: was already disabled" in again


def test_published_pipeline_runs_a_pipeline_named_by_id(env, digits_deployments, container, emulator):
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    folder = upload_inputs(WasbHook(wasb_conn_id="wasb_default"), container, "v1-dag/in", 2)
    body = {"endpoint": "digits-batch", "name": "v1-by-id", "parameters": {"process_count_per_node": 1}}
    pipeline_id = emulator.request("POST", "/_emulator/pipelines", json=body).json()["Id"]
    conf = {"published_pipeline_id": pipeline_id, "experiment_name": "v1-dag-by-id", "input_path": folder}
    dags_test(env, conf, "published_pipeline")
    (run,) = [
        job for job in emulator.request("GET", "/_emulator/jobs").json()["value"] if job["experiment"] == "v1-dag-by-id"
    ]
    assert run["status"] == "Completed"
    assert run["request"]["properties"]["azureml.pipelineid"] == pipeline_id
    assert run["request"]["parameterAssignments"] == {"process_count_per_node": 2}  # the DAG's default param
