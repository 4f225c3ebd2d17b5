"""v1 pipelines: the run body, how a pipeline may be named, and how the service's entities are read."""

from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.pipeline_entities import endpoint_summary, pipeline_run_body, schedule_summary
from airflow_batchml.hooks.published_pipelines import check_pipeline_target

PIPELINE_ID = "0b3c6a4e-1f1d-4c55-9b1e-1234567890ab"


def test_datastore_uri_paths_are_decoded_once():
    body = pipeline_run_body(
        "https://eastus.api.azureml.ms/pipelines/v1.0/x",
        "experiment",
        None,
        {
            "in": "azureml://datastores/workspaceblobstore/paths/landing/a%2541%20b.csv",
            "raw": {"datastore": "d", "path": "x%41"},
        },
    )
    assert body["DataPathAssignments"] == {
        "in": {"DataStoreName": "workspaceblobstore", "RelativePath": "landing/a%41 b.csv"},
        "raw": {"DataStoreName": "d", "RelativePath": "x%41"},
    }


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ((None, None, None, None), "rest_endpoint"),
        (("", "", "", None), "rest_endpoint"),
        (("https://h/x", PIPELINE_ID, None, None), "rest_endpoint/published_pipeline_id"),
        ((None, PIPELINE_ID, "scoring", None), "published_pipeline_id/pipeline_endpoint_name"),
        ((None, "not-a-guid", None, None), "published_pipeline_id"),
        ((None, "../Pipelines", None, None), "published_pipeline_id"),
        ((None, PIPELINE_ID, None, "1"), "pipeline_version"),
        ((None, None, "scoring", "latest"), "pipeline_version"),
    ],
)
def test_a_pipeline_is_named_exactly_once(target, field):
    with pytest.raises(AzureMLConfigurationError) as raised:
        check_pipeline_target(*target)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "target",
    [
        ("https://eastus.api.azureml.ms/x", None, None, None),
        ("", PIPELINE_ID, "", ""),
        (None, None, "scoring", None),
        (None, None, "scoring", "12"),
    ],
)
def test_each_form_alone_is_accepted(target):
    check_pipeline_target(*target)


def test_bad_assignments_name_the_argument():
    with pytest.raises(AzureMLConfigurationError) as raised:
        pipeline_run_body("https://h/x", "exp", {"threshold": [1]}, None)
    assert raised.value.field == "parameter_assignments.threshold"
    with pytest.raises(AzureMLConfigurationError) as raised:
        pipeline_run_body("https://h/x", "exp", None, ["not", "a", "mapping"])
    assert raised.value.field == "data_path_assignments"


def test_older_numeric_entity_statuses_are_read_as_names():
    # service_caller_base.entity_status_from_enum: the service sent 0/1/2 before it sent names.
    schedule = schedule_summary(
        {"Id": "s", "EntityStatus": "2", "ScheduleType": "1", "DataStoreTriggerInfo": {"DataStoreName": "d"}}
    )
    assert (schedule["status"], schedule["type"], schedule["datastore"]["name"]) == ("Disabled", "DataStore", "d")
    assert schedule["recurrence"] is None


def test_endpoint_versions_map_to_pipeline_ids():
    summary = endpoint_summary(
        {
            "Id": "e",
            "DefaultVersion": "1",
            "PipelineVersionList": [{"Version": "0", "PipelineId": "a"}, {"Version": "1", "PipelineId": "b"}],
            "Url": "https://eastus.api.azureml.ms/pipelines/v1.0/x/PipelineRuns/PipelineEndpointSubmit/Id/e",
        }
    )
    assert summary["versions"] == {"0": "a", "1": "b"}
    assert (summary["status"], summary["default_version"]) == ("Active", "1")
