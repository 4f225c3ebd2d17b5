"""AzureMLInvokeBatchEndpointOperator's own logic: rendering, its defaults, inputs as a mapping, the XCom
result built from the hook's answer, and the output locations it keeps for lineage.

Submitting, attaching on retry, waiting (sync and deferred), failures and cancellation run against the
emulator in tests/integration/operators/test_batch_scoring.py; datastore lineage in
tests/integration/dags/test_lineage_dag.py. The deferrable default and the studio link are checked across
operators in tests/unit/operators/test_conventions.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_batchml.operators.batch_scoring import DEFAULT_INPUT_NAME, AzureMLInvokeBatchEndpointOperator

FOLDER = "azureml://datastores/workspaceblobstore/paths/landing/"
SCORES = "azureml://datastores/workspaceblobstore/paths/scores/"


def invoke(**kwargs) -> AzureMLInvokeBatchEndpointOperator:
    return AzureMLInvokeBatchEndpointOperator(
        **{"task_id": "score", "endpoint_name": "digits", "inputs": FOLDER, **kwargs}
    )


def test_everything_a_run_chooses_is_templated_and_the_structured_fields_render_as_json():
    assert set(AzureMLInvokeBatchEndpointOperator.template_fields) == {
        "endpoint_name",
        "inputs",
        "deployment_name",
        "output_path",
        "outputs",
        "overrides",
        "job_name",
        "experiment_name",
        "azure_ml_conn_id",
    }
    assert AzureMLInvokeBatchEndpointOperator.template_fields_renderers == {
        "inputs": "json",
        "outputs": "json",
        "overrides": "json",
    }


def test_nested_inputs_outputs_and_overrides_render_and_literals_stay_literals():
    task = invoke(
        inputs={"images": "azureml://datastores/landing/paths/{{ ds }}/", "threshold": 0.5},
        outputs={"scores": "azureml://datastores/workspaceblobstore/paths/scores/{{ ds }}/"},
        overrides={"mini_batch_size": 10, "output_file_name": "{{ ds }}.csv"},
        job_name="score-{{ ds }}",
        experiment_name="digits-{{ params.env }}",
    )
    task.render_template_fields({"ds": "2026-03-01", "params": {"env": "prod"}})
    assert task.inputs == {"images": "azureml://datastores/landing/paths/2026-03-01/", "threshold": 0.5}
    assert task.outputs == {"scores": "azureml://datastores/workspaceblobstore/paths/scores/2026-03-01/"}
    assert task.overrides == {"mini_batch_size": 10, "output_file_name": "2026-03-01.csv"}
    assert (task.job_name, task.experiment_name) == ("score-2026-03-01", "digits-prod")


def test_by_default_the_task_waits_every_30_s_without_limit_and_cancels_on_timeout_and_kill():
    task = invoke()
    assert (
        task.wait_for_completion,
        task.poll_interval,
        task.job_timeout,
        task.cancel_on_timeout,
        task.cancel_on_kill,
        task.azure_ml_conn_id,
    ) == (True, 30.0, None, True, True, "azure_ml_default")
    assert (task.deployment_name, task.output_path, task.outputs, task.job_name, task.written) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_a_timedelta_timeout_is_kept_in_seconds():
    assert invoke(timeout=timedelta(minutes=2), poll_interval=timedelta(seconds=5)).job_timeout == 120.0
    assert invoke(poll_interval=timedelta(seconds=5)).poll_interval == 5.0


@pytest.mark.parametrize(
    "single",
    [
        FOLDER,
        "azureml:digits-images:3",
        {"uri": FOLDER, "type": "uri_folder"},
        {"path": "azureml://datastores/workspaceblobstore/paths/landing/a.csv", "type": "uri_file"},
    ],
)
def test_a_single_input_is_the_model_deployments_input_data(single):
    assert invoke(inputs=single)._input_mapping() == {DEFAULT_INPUT_NAME: single}
    assert DEFAULT_INPUT_NAME == "input_data"


def test_named_inputs_are_passed_as_a_copy_of_the_mapping():
    inputs = {"images": FOLDER, "threshold": 3, "label": {"type": "string", "value": "cat"}}
    mapping = invoke(inputs=inputs)._input_mapping()
    assert mapping == inputs
    assert mapping is not inputs


def test_the_result_of_a_model_job_names_the_job_endpoint_deployment_and_output():
    task = invoke(deployment_name="digits-forest")
    answer = {"job_name": "batchjob-7f3a", "status": "Completed", "output_uri": SCORES, "outputs": {"score": SCORES}}
    assert task.job_result(answer) == {
        "job_name": "batchjob-7f3a",
        "status": "Completed",
        "endpoint_name": "digits",
        "deployment_name": "digits-forest",
        "output_uri": SCORES,
        "outputs": {"score": SCORES},
    }


def test_the_result_falls_back_to_the_tasks_output_path_and_no_outputs():
    task = invoke(output_path=SCORES)
    assert task.job_result({"job_name": "batchjob-7f3a", "status": "Running"}) == {
        "job_name": "batchjob-7f3a",
        "status": "Running",
        "endpoint_name": "digits",
        "deployment_name": None,
        "output_uri": SCORES,
        "outputs": {},
    }


def test_the_output_locations_written_are_kept_on_the_task_for_lineage():
    task = invoke()
    result = {
        "job_name": "j",
        "output_uri": SCORES,
        "outputs": {"summary": FOLDER + "summary/", "logs": FOLDER + "logs/"},
    }
    assert task._wrote(result) is result
    assert task.written == [FOLDER + "summary/", FOLDER + "logs/", SCORES]


def test_a_pipeline_job_without_an_output_uri_keeps_only_its_named_outputs():
    task = invoke()
    task._wrote({"job_name": "j", "output_uri": None, "outputs": {"scores": SCORES}})
    assert task.written == [SCORES]
    task._wrote({"job_name": "j", "output_uri": None, "outputs": None})
    assert task.written == []


def test_lineage_names_the_data_inputs_and_the_outputs_written_but_no_literals(azure_ml_conn):
    azure_ml_conn()
    task = invoke(
        inputs={
            "images": "https://acct.blob.core.windows.net/data/in/",
            "threshold": 3,
            "label": {"type": "string", "value": "cat"},
        }
    )
    task._wrote({"job_name": "j", "output_uri": "https://acct.blob.core.windows.net/out/scores/", "outputs": {}})
    lineage = task.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("wasbs://data@acct.dfs.core.windows.net", "in")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("wasbs://out@acct.dfs.core.windows.net", "scores")]


def test_lineage_before_the_job_ran_has_no_outputs(azure_ml_conn):
    azure_ml_conn()
    lineage = invoke(inputs="https://acct.blob.core.windows.net/data/in/a.csv").get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("wasbs://data@acct.dfs.core.windows.net", "in/a.csv")]
    assert lineage.outputs == []


def test_named_inputs_that_include_one_called_path_stay_named():
    inputs = {"path": FOLDER, "threshold": 3}
    assert invoke(inputs=inputs)._input_mapping() == inputs
