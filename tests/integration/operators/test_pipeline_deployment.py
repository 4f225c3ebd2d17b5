"""Pipeline component deployments through the operators, on the emulator and Azurite (issue 14's "Done when").

A DAG run (``airflow dags test``, deferrable waits through the real trigger) deploys the two-step pipeline
component from its ``az ml`` YAML to a batch endpoint and invokes it with a data input, a numeric literal and
two named outputs; both outputs then hold what the steps wrote and the batch job lists its step jobs. A second
group drives the invoke operator directly: a retried keyed submission attaches to the job the first try
started, found by its keyed output folders, and inputs that do not fit the component are refused unsent.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.batch_invoke import keyed_output_uri
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml_emulator.stack import dags_test_env
from tests.support.stack import ROOT
from tests.support.task_context import RecordingTaskInstance
from tests.support.workspace import DATA

pytestmark = pytest.mark.integration

ENDPOINT = "ops-pipeline"
DEPLOYMENT = "prepare-and-score"  # the fixture YAML's name
STORE = "azureml://datastores/workspaceblobstore/paths"
RESULT = re.compile(r"INVOKE RESULT (\{.*\})")

DAG_FILE = """
from __future__ import annotations

import json

import pendulum
from airflow.sdk import dag, task

from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLCreateBatchEndpointOperator,
)
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def pipeline_deploy_and_invoke():
    compute = AzureMLCreateComputeOperator(task_id="compute", compute_name="batch-cluster")
    endpoint = AzureMLCreateBatchEndpointOperator(task_id="endpoint", endpoint_name="{endpoint}")
    deployment = AzureMLCreateBatchDeploymentOperator(
        task_id="deployment", deployment="{deployment_yaml}", endpoint_name="{endpoint}", set_default=True
    )
    invoke = AzureMLInvokeBatchEndpointOperator(
        task_id="invoke",
        endpoint_name="{endpoint}",
        deployment_name="{{{{ ti.xcom_pull(task_ids='deployment')['name'] }}}}",
        inputs={{"input_data": "{{{{ dag_run.conf['input'] }}}}", "scale": 2.5}},
        outputs={{"prepared": "{{{{ dag_run.conf['prepared'] }}}}", "scores": "{{{{ dag_run.conf['scores'] }}}}"}},
        experiment_name="pipeline-deployments",
        poll_interval=0.5,
        timeout=300,
    )

    @task
    def report(result: dict) -> None:
        print("INVOKE RESULT " + json.dumps(result))

    compute >> endpoint >> deployment >> invoke
    report(invoke.output)


pipeline_deploy_and_invoke()
"""


def upload_records(wasb, container: str, prefix: str) -> str:
    """Two input files of numbers, one per line; returns their folder's datastore URI."""
    wasb.load_string("1\n2\n", container, f"{prefix}/a.txt", overwrite=True)
    wasb.load_string("3\n", container, f"{prefix}/b.txt", overwrite=True)
    return f"{STORE}/{prefix}/"


@pytest.fixture(scope="module")
def container(airflow_connections) -> str:
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    return AzureMLHook().get_client().datastores.get("workspaceblobstore").container_name


@pytest.fixture(scope="module")
def dag_run(airflow_connections, container, tmp_path_factory):
    """The DAG run's log and what it was given: deploy from YAML, invoke with a literal and two named outputs."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    dags = tmp_path_factory.mktemp("dags")
    deployment_yaml = DATA / "pipeline" / "deployment.yml"
    (dags / "pipeline_deploy_and_invoke.py").write_text(
        textwrap.dedent(DAG_FILE).format(endpoint=ENDPOINT, deployment_yaml=deployment_yaml)
    )
    env = dags_test_env(tmp_path_factory.mktemp("airflow-home"), dags, PYTHONPATH=f"{dags}:{ROOT}")
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, timeout=240
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    conf = {
        "input": upload_records(WasbHook(wasb_conn_id="wasb_default"), container, "pipeline-ops/dag/in"),
        "prepared": f"{STORE}/pipeline-ops/dag/prepared/",
        "scores": f"{STORE}/pipeline-ops/dag/scores/",
    }
    command = [sys.executable, "-m", "airflow", "dags", "test", "pipeline_deploy_and_invoke", "-c", json.dumps(conf)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400, check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0 and "state=success" in log, log[-6000:]
    return {"log": log, "conf": conf, "result": json.loads(RESULT.search(log).group(1))}


def test_the_dag_deploys_the_pipeline_from_yaml_and_both_named_outputs_hold_what_the_steps_wrote(dag_run, hook):
    result, conf = dag_run["result"], dag_run["conf"]
    assert (result["status"], result["deployment_name"], result["output_uri"]) == ("Completed", DEPLOYMENT, None)
    assert result["outputs"] == {"prepared": conf["prepared"], "scores": conf["scores"]}
    # prepare multiplied every record by the literal 2.5; score summed each prepared file (label: its default).
    assert hook.read_datastore_file(conf["prepared"] + "a.txt").decode().split() == ["2.5", "5"]
    assert hook.read_datastore_file(conf["prepared"] + "b.txt").decode().split() == ["7.5"]
    scores = hook.read_datastore_file(conf["scores"] + "scores.csv").decode().splitlines()
    assert scores == ["file,label,score", "a.txt,scored,7.5", "b.txt,scored,7.5"]


def test_the_dags_batch_job_lists_its_steps_as_child_jobs(dag_run, ml_client):
    job_name = dag_run["result"]["job_name"]
    children = {child.display_name: child.status for child in ml_client.jobs.list(parent_job_name=job_name)}
    assert children == {"prepare": "Completed", "score": "Completed"}


# -- the invoke operator on its own: exactly once, and inputs checked against the component -----------


@pytest.fixture(scope="module")
def deployed(dag_run) -> str:
    """The endpoint and deployment the DAG created (the deploy path itself is the DAG test's)."""
    return DEPLOYMENT


def invoke(run_id: str, **kwargs) -> tuple[AzureMLInvokeBatchEndpointOperator, dict]:
    defaults = {"task_id": "invoke", "endpoint_name": ENDPOINT, "deployment_name": DEPLOYMENT, "poll_interval": 0.3}
    operator = AzureMLInvokeBatchEndpointOperator(**{**defaults, **kwargs})
    return operator, {"ti": RecordingTaskInstance(run_id=run_id), "task_state_store": None}


def jobs_writing_to(hook, uri: str) -> list[str]:
    return [job.name for job in hook.listed_jobs(ENDPOINT) if job.writes_to(uri)]


def test_a_retried_pipeline_invoke_attaches_to_the_job_its_keyed_outputs_identify(deployed, hook, wasb, container):
    """No task_state_store (older Airflow): the retry finds the first try's job by its keyed output folders."""
    folder = upload_records(wasb, container, "pipeline-ops/retry/in")
    inputs = {"input_data": folder, "scale": 2, "label": {"type": "string", "value": "retried"}}
    operator, first_try = invoke("retry-1", inputs=inputs, wait_for_completion=False)
    submitted = operator.execute(first_try)
    key = submitted["outputs"]["scores"].split("/paths/airflow/", 1)[1].split("/", 1)[0]
    keyed = {name: f"{keyed_output_uri(key)}{name}/" for name in ("prepared", "scores")}
    assert submitted["outputs"] == keyed
    operator, second_try = invoke("retry-1", inputs=inputs, deferrable=False, timeout=300)
    result = operator.execute(second_try)
    assert (result["job_name"], result["status"], result["outputs"]) == (submitted["job_name"], "Completed", keyed)
    assert jobs_writing_to(hook, keyed["scores"]) == [submitted["job_name"]]
    scores = hook.read_datastore_file(keyed["scores"] + "scores.csv").decode().splitlines()
    assert scores == ["file,label,score", "a.txt,retried,6", "b.txt,retried,6"]


@pytest.mark.parametrize(
    ("inputs", "outputs", "field"),
    [
        ({"scale": 2}, None, "inputs.input_data"),
        ({"input_data": f"{STORE}/pipeline-ops/retry/in/", "scale": True}, None, "inputs.scale"),
        ({"input_data": f"{STORE}/pipeline-ops/retry/in/", "scale": 2}, {"summary": f"{STORE}/x/"}, "outputs.summary"),
    ],
    ids=["required-input-missing", "literal-of-the-wrong-type", "undeclared-output"],
)
def test_an_invoke_that_does_not_fit_the_component_is_refused_unsent(deployed, hook, inputs, outputs, field):
    before = [job.name for job in hook.listed_jobs(ENDPOINT)]
    operator, context = invoke(f"refused-{field}", inputs=inputs, outputs=outputs)
    with pytest.raises(AzureMLConfigurationError) as err:
        operator.execute(context)
    assert err.value.field == field
    assert [job.name for job in hook.listed_jobs(ENDPOINT)] == before


def test_a_deployment_entity_built_in_python_deploys_and_runs_as_the_yaml_does(deployed, hook, wasb, container):
    """A ``PipelineComponentBatchDeployment`` with a local component: the hook uploads the steps' code through
    WASB, the SDK registers the rest; ``azureml:``-prefixed settings are sent as bare names."""
    from azure.ai.ml import load_component
    from azure.ai.ml.entities import PipelineComponentBatchDeployment

    entity = PipelineComponentBatchDeployment(
        name="prepare-and-score-py",
        endpoint_name=ENDPOINT,
        component=load_component(source=DATA / "pipeline" / "pipeline.yml"),
        settings={"default_compute": "azureml:batch-cluster", "continue_on_step_failure": False},
    )
    assert hook.create_or_update_batch_deployment(entity)["name"] == "prepare-and-score-py"
    assert entity.settings == {"default_compute": "batch-cluster", "continue_on_step_failure": False}
    folder = upload_records(wasb, container, "pipeline-ops/entity/in")
    scores = f"{STORE}/pipeline-ops/entity/scores/"
    operator, context = invoke(
        "entity-1",
        deployment_name="prepare-and-score-py",
        inputs={"input_data": folder, "scale": 10},
        outputs={"scores": scores},
        deferrable=False,
        timeout=300,
    )
    result = operator.execute(context)
    assert result["status"] == "Completed"
    assert result["outputs"]["scores"] == scores
    assert result["outputs"]["prepared"].endswith("/prepared/")  # the keyed folder of the output not placed
    lines = hook.read_datastore_file(scores + "scores.csv").decode().splitlines()
    assert lines == ["file,label,score", "a.txt,scored,30", "b.txt,scored,30"]


def test_a_deployment_from_an_existing_pipeline_job_takes_that_jobs_inputs(dag_run, hook, wasb, container, tmp_path):
    """``job_definition: azureml:<job>`` (the DAG's batch job) through the deployment operator; the component the
    service makes of the job checks the next invoke as any other."""
    from airflow_batchml.operators.batch_endpoint import AzureMLCreateBatchDeploymentOperator

    yaml_path = tmp_path / "from-job.yml"
    yaml_path.write_text(
        f"name: from-dag-job\nendpoint_name: {ENDPOINT}\ntype: pipeline\n"
        f"job_definition: azureml:{dag_run['result']['job_name']}\nsettings:\n  default_compute: batch-cluster\n"
    )
    created = AzureMLCreateBatchDeploymentOperator(task_id="deploy", deployment=str(yaml_path)).execute({})
    assert created["name"] == "from-dag-job"
    operator, context = invoke("from-job-1", deployment_name="from-dag-job", inputs={"scale": 1})
    with pytest.raises(AzureMLConfigurationError) as err:
        operator.execute(context)
    assert err.value.field == "inputs.input_data"
    folder = upload_records(wasb, container, "pipeline-ops/from-job/in")
    operator, context = invoke(
        "from-job-1", deployment_name="from-dag-job", inputs={"input_data": folder, "scale": 1}, deferrable=False
    )
    assert operator.execute(context)["status"] == "Completed"
