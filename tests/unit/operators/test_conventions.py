"""Airflow conventions every operator keeps: templated per-run fields, deferrable default, links."""

from __future__ import annotations

import pytest

from airflow_batchml.job_names import change_job_name, task_job_name
from airflow_batchml.links import AzureMLJobLink
from airflow_batchml.names import check_name
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


def test_job_names_are_deterministic_valid_and_distinct():
    a = task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", -1, {"in": "x"})
    assert a == task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", -1, {"in": "x"})
    assert a != task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", 0, {"in": "x"})
    assert a != task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", -1, {"in": "y"})
    assert check_name("job", a) == a
    blob = change_job_name("score", "landing", "in/a.png", '"0x8D1"')
    assert blob == change_job_name("score", "landing", "in/a.png", '"0x8D1"')
    assert blob != change_job_name("score", "landing", "in/a.png", '"0x8D2"')
    assert check_name("job", change_job_name("-" * 80, "c", "b", "e"))
