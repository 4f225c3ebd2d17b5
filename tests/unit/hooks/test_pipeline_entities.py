"""The v1 pipelines service's bodies: the run body built and checked locally, and the entities read into summaries."""

from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.pipeline_entities import (
    endpoint_summary,
    entity_status,
    pipeline_run_body,
    pipeline_summary,
    run_body,
    schedule_summary,
)

REST_ENDPOINT = "https://eastus.api.azureml.ms/pipelines/v1.0/x/PipelineRuns/PipelineSubmit/p"


def field_of(call, *args):
    with pytest.raises(AzureMLConfigurationError) as raised:
        call(*args)
    return raised.value.field


@pytest.mark.parametrize(
    ("entity", "status"),
    [
        ({}, "Active"),
        ({"EntityStatus": None}, "Active"),
        ({"EntityStatus": "0"}, "Active"),
        ({"EntityStatus": "1"}, "Deprecated"),
        ({"EntityStatus": "2"}, "Disabled"),
        ({"EntityStatus": 2}, "Disabled"),
        ({"EntityStatus": "Disabled"}, "Disabled"),
        ({"EntityStatus": "Archived"}, "Archived"),
    ],
)
def test_entity_status_reads_old_codes_as_names_and_passes_names_through(entity, status):
    assert entity_status(entity) == status


def test_a_pipeline_entity_becomes_its_summary():
    entity = {
        "Id": "p1",
        "Name": "digits",
        "EntityStatus": "Active",
        "Version": "3",
        "Description": "scores digits",
        "ParameterAssignments": {"threshold": "0.5"},
        "Url": REST_ENDPOINT,
        "CreatedDate": "2026-01-01",
    }
    assert pipeline_summary(entity) == {
        "id": "p1",
        "name": "digits",
        "status": "Active",
        "version": "3",
        "description": "scores digits",
        "parameters": {"threshold": "0.5"},
        "rest_endpoint": REST_ENDPOINT,
    }


def test_a_pipeline_without_parameters_has_an_empty_mapping():
    assert pipeline_summary({"Id": "p1", "ParameterAssignments": None})["parameters"] == {}


def test_a_recurrence_schedule_becomes_its_summary():
    entity = {
        "Id": "s1",
        "Name": "hourly",
        "EntityStatus": "Active",
        "PipelineId": "p1",
        "ScheduleType": "Recurrence",
        "Recurrence": {"Frequency": "Hour", "Interval": 2, "StartTime": "2026-01-01T00:00:00"},
        "ProvisioningStatus": "Completed",
    }
    assert schedule_summary(entity) == {
        "id": "s1",
        "name": "hourly",
        "status": "Active",
        "pipeline_id": "p1",
        "pipeline_endpoint_id": None,
        "type": "Recurrence",
        "recurrence": {"frequency": "Hour", "interval": 2},
        "datastore": None,
        "provisioning_status": "Completed",
    }


def test_a_datastore_schedule_names_its_store_path_and_parameter():
    entity = {
        "Id": "s2",
        "ScheduleType": "DataStore",
        "PipelineEndpointId": "e1",
        "DataStoreTriggerInfo": {
            "DataStoreName": "landing",
            "PathOnDataStore": "in/",
            "DataPathParameterName": "input_path",
        },
    }
    summary = schedule_summary(entity)
    assert summary["datastore"] == {"name": "landing", "path": "in/", "data_path_parameter": "input_path"}
    assert (summary["type"], summary["pipeline_endpoint_id"], summary["recurrence"]) == ("DataStore", "e1", None)


def test_a_schedule_type_code_is_read_as_a_name():
    assert schedule_summary({"ScheduleType": "0"})["type"] == "Recurrence"
    assert schedule_summary({"ScheduleType": "1"})["type"] == "DataStore"


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


def test_endpoint_version_numbers_become_string_keys_and_a_missing_list_is_empty():
    assert endpoint_summary({"PipelineVersionList": [{"Version": 2, "PipelineId": "c"}]})["versions"] == {"2": "c"}
    assert endpoint_summary({"Name": "scoring", "PipelineVersionList": None})["versions"] == {}


def test_the_run_body_carries_the_experiment_parameters_and_data_paths():
    body = pipeline_run_body(
        REST_ENDPOINT, "nightly_scoring", {"threshold": 0.5, "mode": "fast", "n": 3, "dry": False}, None
    )
    assert body == {
        "ExperimentName": "nightly_scoring",
        "ParameterAssignments": {"threshold": 0.5, "mode": "fast", "n": 3, "dry": False},
        "DataPathAssignments": {},
    }


def test_a_run_body_copies_the_callers_mappings():
    parameters = {"threshold": 0.5}
    run_body("exp", parameters, None)["ParameterAssignments"]["threshold"] = 0.9
    assert parameters == {"threshold": 0.5}


@pytest.mark.parametrize(
    "endpoint",
    ["http://eastus.api.azureml.ms/x", "ftp://h/x", "eastus.api.azureml.ms/x", "", None, "https://[broken/x"],
)
def test_the_rest_endpoint_must_be_an_https_url(endpoint):
    assert field_of(pipeline_run_body, endpoint, "exp", None, None) == "rest_endpoint"


def test_the_rest_endpoint_is_checked_before_the_other_arguments():
    assert field_of(pipeline_run_body, "http://h/x", "bad name!", [1], [2]) == "rest_endpoint"


@pytest.mark.parametrize("name", ["", "bad name", "-leading", "x" * 256, None])
def test_the_experiment_name_follows_azure_ml_rules(name):
    assert field_of(run_body, name, None, None) == "experiment_name"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        (["threshold", 0.5], "parameter_assignments"),
        ("threshold=0.5", "parameter_assignments"),
        ({"threshold": None}, "parameter_assignments.threshold"),
        ({"threshold": {"value": 1}}, "parameter_assignments.threshold"),
    ],
)
def test_parameters_are_a_mapping_of_strings_and_numbers(parameters, field):
    assert field_of(run_body, "exp", parameters, None) == field


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
    "value",
    [
        "azureml://subscriptions/s/resourcegroups/r/workspaces/w/datastores/landing/paths/in/a.csv",
        "AZUREML://datastores/landing/paths/in/a.csv",
        {"DataStoreName": "landing", "RelativePath": "in/a.csv"},
        {"datastore": "landing", "path": "in/a.csv"},
    ],
)
def test_a_data_path_may_be_a_uri_or_either_mapping_form(value):
    body = run_body("exp", None, {"input_path": value})
    assert body["DataPathAssignments"] == {"input_path": {"DataStoreName": "landing", "RelativePath": "in/a.csv"}}


@pytest.mark.parametrize(
    "value",
    [
        "azureml://datastores/landing/paths/",
        "https://acct.blob.core.windows.net/landing/a.csv",
        "azureml:digits:1",
        {"datastore": "landing"},
        {"datastore": "", "path": "a.csv"},
        {"datastore": "landing", "path": 3},
        None,
    ],
)
def test_a_bad_data_path_names_its_key(value):
    assert field_of(run_body, "exp", None, {"input_path": value}) == "data_path_assignments.input_path"


def test_bad_assignments_name_the_argument():
    with pytest.raises(AzureMLConfigurationError) as raised:
        pipeline_run_body("https://h/x", "exp", {"threshold": [1]}, None)
    assert raised.value.field == "parameter_assignments.threshold"
    with pytest.raises(AzureMLConfigurationError) as raised:
        pipeline_run_body("https://h/x", "exp", None, ["not", "a", "mapping"])
    assert raised.value.field == "data_path_assignments"


@pytest.mark.parametrize(
    ("sent", "read"), [(0, "Recurrence"), (1, "DataStore"), ("Recurrence", "Recurrence"), (None, "")]
)
def test_a_schedule_type_sent_as_a_number_or_a_name_reads_as_its_name(sent, read):
    assert schedule_summary({"ScheduleType": sent})["type"] == read
