"""Bad arguments fail before any remote call, naming the field.

The operators pass their arguments on; the hook holds the checks, so that a DAG calling the hook directly
gets the same errors. These cases go through the operators, as users do.

The connection points at a port where nothing listens: any call that did reach the network would fail
with AzureMLRemoteError (connection refused), so getting AzureMLConfigurationError proves the check
came first.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLCreateBatchEndpointOperator,
    AzureMLDeleteBatchDeploymentOperator,
    AzureMLDeleteBatchEndpointOperator,
    AzureMLSetDefaultDeploymentOperator,
)
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.compute import AzureMLCreateComputeOperator, AzureMLDeleteComputeOperator
from airflow_batchml.operators.pipelines import AzureMLRunPublishedPipelineOperator
from airflow_batchml.operators.schedules import AzureMLCreateScheduleOperator, AzureMLEnableScheduleOperator

NOWHERE = "https://127.0.0.1:9/"


@pytest.fixture
def context(azure_ml_conn):
    azure_ml_conn(resource_manager_url=NOWHERE, token="t0ken-value")
    ti = SimpleNamespace(
        dag_id="d", task_id="t", run_id="r", map_index=-1, xcom_push=lambda **kw: None, xcom_pull=lambda **kw: None
    )
    return {"ti": ti}


def invoke(**kwargs):
    return AzureMLInvokeBatchEndpointOperator(task_id="score", **{"endpoint_name": "digits-batch", **kwargs})


@pytest.mark.parametrize(
    ("operator", "field"),
    [
        (invoke(inputs="s3://bucket/x"), "inputs.input_data"),
        (invoke(inputs={"images": [42]}), "inputs.images"),
        (invoke(inputs={"images": float("nan")}), "inputs.images"),
        (invoke(inputs={"label": {"type": "string", "value": 3}}), "inputs.label"),
        (
            invoke(inputs="azureml://datastores/d/paths/x/", outputs={"scores": "https://a.blob.core.windows.net/o/"}),
            "outputs.scores",
        ),
        (
            invoke(inputs="azureml://datastores/d/paths/x/", outputs={"my-scores": "azureml://datastores/d/paths/o/"}),
            "outputs",
        ),
        (invoke(inputs={}), "inputs"),
        (
            invoke(inputs="azureml://datastores/d/paths/x/", overrides={"mini_batch_size": "10"}),
            "overrides.mini_batch_size",
        ),
        (
            invoke(inputs="azureml://datastores/d/paths/x/", overrides={"instance_count": -1}),
            "overrides.instance_count",
        ),
        (invoke(inputs="azureml://datastores/d/paths/x/", endpoint_name="1-bad"), "endpoint_name"),
        (invoke(inputs="azureml://datastores/d/paths/x/", deployment_name="bad_name"), "deployment_name"),
        (invoke(inputs="azureml://datastores/d/paths/x/", job_name="../x"), "job_name"),
        (
            invoke(inputs="azureml://datastores/d/paths/x/", output_path="https://a.blob.core.windows.net/o/"),
            "output_path",
        ),
        (invoke(inputs={"images": "https://[broken/x.png"}), "inputs.images"),
        (
            AzureMLRunPublishedPipelineOperator(task_id="p", rest_endpoint="https://[broken", experiment_name="e"),
            "rest_endpoint",
        ),
        (
            AzureMLRunPublishedPipelineOperator(
                task_id="p", rest_endpoint="https://host:port/pipelines/v1.0/p", experiment_name="e"
            ),
            "rest_endpoint",
        ),
        (AzureMLCreateComputeOperator(task_id="c", compute_name="x"), "compute_name"),
        (
            AzureMLCreateComputeOperator(task_id="c", compute_name="cpu", min_instances=3, max_instances=1),
            "max_instances",
        ),
        (AzureMLCreateBatchEndpointOperator(task_id="e", endpoint_name="ab"), "endpoint_name"),
        (AzureMLDeleteBatchEndpointOperator(task_id="e", endpoint_name="ab"), "endpoint_name"),
        (
            AzureMLDeleteBatchDeploymentOperator(task_id="d", endpoint_name="digits", deployment_name="-x"),
            "deployment_name",
        ),
        (AzureMLDeleteComputeOperator(task_id="c", compute_name="x"), "compute_name"),
        (AzureMLEnableScheduleOperator(task_id="s", schedule_name="no spaces"), "schedule_name"),
        (AzureMLCreateBatchEndpointOperator(task_id="e"), "endpoint_name"),
        (AzureMLCreateBatchEndpointOperator(task_id="e", endpoint_name="digits", tags={"team": 5}), "tags.team"),
        (
            AzureMLSetDefaultDeploymentOperator(task_id="s", endpoint_name="digits", deployment_name="-x"),
            "deployment_name",
        ),
        (
            AzureMLRunPublishedPipelineOperator(task_id="p", rest_endpoint="http://insecure/x", experiment_name="e"),
            "rest_endpoint",
        ),
        (
            AzureMLRunPublishedPipelineOperator(
                task_id="p", rest_endpoint="https://attacker.example/pipelines/v1.0/p", experiment_name="e"
            ),
            "rest_endpoint",
        ),
        (
            AzureMLRunPublishedPipelineOperator(
                task_id="p", rest_endpoint=NOWHERE + "p", experiment_name="e", data_path_assignments={"in": "x"}
            ),
            "data_path_assignments.in",
        ),
        (AzureMLCreateScheduleOperator(task_id="s", schedule_name="s1", create_job="azureml:j"), "cron"),
        (
            AzureMLCreateScheduleOperator(
                task_id="s", schedule_name="s1", create_job="azureml:j", frequency="fortnight", interval=1
            ),
            "frequency",
        ),
    ],
)
def test_bad_arguments_fail_before_any_call(context, operator, field):
    with pytest.raises(AzureMLConfigurationError) as err:
        operator.execute(context)
    assert err.value.field == field


def test_deployment_yaml_with_unknown_field_names_it(context, tmp_path):
    path = tmp_path / "deployment.yml"
    path.write_text(
        "name: dep-one\nendpoint_name: digits-batch\nmodel: azureml:m:1\nsettings:\n  mini_batch_sizee: 10\n"
    )
    operator = AzureMLCreateBatchDeploymentOperator(task_id="d", deployment=str(path))
    with pytest.raises(AzureMLConfigurationError, match=r"settings.mini_batch_sizee: Unknown field"):
        operator.execute(context)


def test_timeouts_must_be_numbers():
    with pytest.raises(AzureMLConfigurationError, match="timeout"):
        invoke(inputs="azureml://datastores/d/paths/x/", timeout="soon")
