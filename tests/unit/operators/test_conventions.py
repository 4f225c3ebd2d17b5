"""Airflow conventions every operator keeps: templated per-run fields, deferrable default, links."""

from __future__ import annotations

import pytest

from airflow_batchml.links import AzureMLJobLink
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.operators.pipelines import AzureMLRunPublishedPipelineOperator
from airflow_batchml.sensors.job import AzureMLJobSensor


def test_invoke_templates_what_users_vary_per_run():
    fields = set(AzureMLInvokeBatchEndpointOperator.template_fields)
    assert {"endpoint_name", "deployment_name", "inputs", "output_path", "overrides", "azure_ml_conn_id"} <= fields
    assert {"parameter_assignments", "data_path_assignments"} <= set(
        AzureMLRunPublishedPipelineOperator.template_fields
    )


@pytest.mark.parametrize("default", [True, False])
def test_deferrable_defaults_to_airflow_setting(monkeypatch, default):
    import importlib

    import airflow_batchml.operators.batch_scoring as module

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", str(default))
    reloaded = importlib.reload(module)
    try:
        op = reloaded.AzureMLInvokeBatchEndpointOperator(task_id="t", endpoint_name="e1x", inputs="azureml:x:1")
        assert op.deferrable is default
    finally:
        monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE")
        importlib.reload(module)


def test_job_waiting_tasks_offer_the_studio_link():
    for cls in (AzureMLInvokeBatchEndpointOperator, AzureMLRunPublishedPipelineOperator, AzureMLJobSensor):
        assert any(isinstance(link, AzureMLJobLink) for link in cls.operator_extra_links)
