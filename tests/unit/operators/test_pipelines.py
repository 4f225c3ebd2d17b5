"""v1 operators: how a pipeline is named, and the housekeeping arguments, checked before any remote call.

As in test_bad_input.py, the connection points at a port where nothing listens, so a call that reached
the network would fail with AzureMLRemoteError: AzureMLConfigurationError proves the check came first.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.operators.pipelines import (
    AzureMLDisablePublishedPipelinesOperator,
    AzureMLDisableV1SchedulesOperator,
    AzureMLListPublishedPipelinesOperator,
    AzureMLListV1SchedulesOperator,
    AzureMLRunPublishedPipelineOperator,
)

NOWHERE = "https://127.0.0.1:9/"
PIPELINE_ID = "0b3c6a4e-1f1d-4c55-9b1e-1234567890ab"


@pytest.fixture
def context(azure_ml_conn):
    azure_ml_conn(resource_manager_url=NOWHERE, token="t0ken-value")
    ti = SimpleNamespace(
        dag_id="d", task_id="t", run_id="r", map_index=-1, xcom_push=lambda **kw: None, xcom_pull=lambda **kw: None
    )
    return {"ti": ti}


def run(**kwargs):
    return AzureMLRunPublishedPipelineOperator(task_id="p", **{"experiment_name": "e", **kwargs})


@pytest.mark.parametrize(
    ("operator", "field"),
    [
        (run(), "rest_endpoint"),
        (run(rest_endpoint="https://h/x", pipeline_endpoint_name="scoring"), "rest_endpoint/pipeline_endpoint_name"),
        (run(published_pipeline_id="nightly"), "published_pipeline_id"),
        (run(pipeline_endpoint_name="scoring", pipeline_version="v2"), "pipeline_version"),
        (run(published_pipeline_id=PIPELINE_ID, experiment_name="bad name!"), "experiment_name"),
        (run(published_pipeline_id=PIPELINE_ID, parameter_assignments={"x": None}), "parameter_assignments.x"),
        (AzureMLDisableV1SchedulesOperator(task_id="d", schedule_ids=["not-an-id"]), "schedule_ids[0]"),
        (
            AzureMLDisablePublishedPipelinesOperator(task_id="d", published_pipeline_ids=[PIPELINE_ID, "../x"]),
            "published_pipeline_ids[1]",
        ),
        (AzureMLDisableV1SchedulesOperator(task_id="d", schedule_ids={"a": 1}), "schedule_ids"),
        (AzureMLListPublishedPipelinesOperator(task_id="l", include_disabled="sometimes"), "include_disabled"),
        (AzureMLListV1SchedulesOperator(task_id="l", published_pipeline_id="x"), "published_pipeline_id"),
    ],
)
def test_bad_arguments_fail_before_any_call(context, operator, field):
    with pytest.raises(AzureMLConfigurationError) as raised:
        operator.execute(context)
    assert raised.value.field == field


def test_an_empty_id_list_disables_nothing(context):
    # No remote call at all: the connection points nowhere.
    assert AzureMLDisableV1SchedulesOperator(task_id="d", schedule_ids=[]).execute(context) == {
        "disabled": [],
        "already_disabled": [],
    }


def test_the_pipeline_fields_are_templated():
    fields = set(AzureMLRunPublishedPipelineOperator.template_fields)
    assert {"rest_endpoint", "published_pipeline_id", "pipeline_endpoint_name", "pipeline_version"} <= fields
    assert "schedule_ids" in AzureMLDisableV1SchedulesOperator.template_fields
    assert "published_pipeline_ids" in AzureMLDisablePublishedPipelinesOperator.template_fields
