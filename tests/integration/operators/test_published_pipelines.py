"""v1 operators against the emulator: a run named by published pipeline id and by pipeline endpoint name,
and the housekeeping operators listing and disabling by id."""

from __future__ import annotations

import uuid

import pytest

from airflow_batchml.operators.pipelines import (
    AzureMLDisablePublishedPipelinesOperator,
    AzureMLDisableV1SchedulesOperator,
    AzureMLListPublishedPipelinesOperator,
    AzureMLListV1SchedulesOperator,
    AzureMLRunPublishedPipelineOperator,
)
from tests.support.published_pipelines import publish, v1
from tests.support.workspace import upload_inputs

pytestmark = pytest.mark.integration


@pytest.fixture
def published(scoring_endpoint, emulator):
    return publish(emulator, endpoint=scoring_endpoint)


@pytest.mark.parametrize("named_by", ["published_pipeline_id", "pipeline_endpoint_name"])
def test_a_run_named_by_id_or_endpoint_name_completes(
    named_by,
    published,
    wasb,
    container,
    emulator,
    context,
):
    inputs = upload_inputs(wasb, container, f"v1-operator/{named_by}", 2)
    target = {"published_pipeline_id": published["Id"]}
    if named_by == "pipeline_endpoint_name":
        name = f"op-{uuid.uuid4().hex[:6]}"
        body = {"Name": name, "PipelineId": published["Id"]}
        emulator.request("POST", f"{v1(emulator)}/PipelineEndpoints/Create", json=body)
        target = {"pipeline_endpoint_name": name, "pipeline_version": "0"}
    op = AzureMLRunPublishedPipelineOperator(
        task_id="run_v1",
        experiment_name="v1-operator",
        parameter_assignments={"threshold": 0.9},
        data_path_assignments={"input_data": inputs},
        deferrable=False,
        poll_interval=0.2,
        timeout=120,
        **target,
    )
    assert op.execute(context)["status"] == "Completed"


def test_housekeeping_lists_then_disables_by_id(published, emulator, context):
    schedule = {
        "Name": "every-hour",
        "PipelineId": published["Id"],
        "PipelineSubmissionInfo": {"ExperimentName": "v1-housekeeping"},
        "ScheduleType": "0",
        "Recurrence": {"Frequency": "Hour", "Interval": 1},
    }
    schedule_id = emulator.request("POST", f"{v1(emulator)}/Schedules/Create", json=schedule).json()["Id"]
    listed = AzureMLListV1SchedulesOperator(task_id="l", published_pipeline_id=published["Id"]).execute(context)
    assert [item["id"] for item in listed] == [schedule_id]
    pipelines = AzureMLListPublishedPipelinesOperator(task_id="p").execute(context)
    assert published["Id"] in {item["id"] for item in pipelines}

    disabled = AzureMLDisableV1SchedulesOperator(task_id="d", schedule_ids=[schedule_id]).execute(context)
    assert disabled == {"disabled": [schedule_id], "already_disabled": []}
    op = AzureMLDisablePublishedPipelinesOperator(task_id="d", published_pipeline_ids=published["Id"])
    assert op.execute(context) == {"disabled": [published["Id"]], "already_disabled": []}
    assert op.execute(context) == {"disabled": [], "already_disabled": [published["Id"]]}
    every = AzureMLListPublishedPipelinesOperator(task_id="p", include_disabled="true").execute(context)
    assert {item["id"]: item["status"] for item in every}[published["Id"]] == "Disabled"
