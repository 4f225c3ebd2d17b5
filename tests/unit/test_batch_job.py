from __future__ import annotations

import pytest

from airflow_batchml.batch_job import (
    BatchInput,
    BatchJobOverrides,
    ComponentInput,
    ComponentPorts,
    JobLiteral,
    check_output_path,
    output_type,
    parse_job_input,
    parse_outputs,
)
from airflow_batchml.exceptions import AzureMLConfigurationError


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("azureml://datastores/workspaceblobstore/paths/digits/", "uri_folder"),
        ("azureml://datastores/workspaceblobstore/paths/digits/one.png", "uri_file"),
        ("azureml://subscriptions/s/resourcegroups/r/workspaces/w/datastores/d/paths/x/", "uri_folder"),
        ("azureml:digits:1", "uri_folder"),
        ("azureml:digits@latest", "uri_folder"),
        ("https://account.blob.core.windows.net/data/heart.csv", "uri_file"),
        ({"uri": "https://account.blob.core.windows.net/data/folder", "type": "uri_folder"}, "uri_folder"),
    ],
)
def test_supported_input_forms(value, kind):
    assert BatchInput.parse(value).type == kind


def test_local_inputs_are_typed_by_the_filesystem(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    assert BatchInput.parse(str(tmp_path)).type == "uri_folder"
    assert BatchInput.parse(str(tmp_path / "a.png")).type == "uri_file"
    assert BatchInput.parse(str(tmp_path)).is_local


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("s3://bucket/key", "is not a datastore path"),
        ("azureml://datastores/x", "azureml://datastores/<name>/paths/<path>"),
        ("azureml:bad name", "azureml:<name>:<version>"),
        ({"uri": "azureml:digits:1", "type": "mltable"}, "inputs.type"),
        ("", "is not an input"),
        (42, "is not an input"),
        ("/no/such/folder", "does not exist"),
    ],
)
def test_bad_inputs_name_the_field(value, message):
    with pytest.raises(AzureMLConfigurationError, match=message) as err:
        BatchInput.parse(value)
    assert err.value.field.startswith("inputs")


def test_overrides_map_to_sdk_params_override():
    overrides = BatchJobOverrides.parse(
        {
            "mini_batch_size": 20,
            "instance_count": 3,
            "output_file_name": "o.csv",
            "max_retries": 2,
            "timeout": 60,
            "error_threshold": -1,
        }
    )
    assert overrides.to_params_override() == [
        {"mini_batch_size": 20},
        {"compute.instance_count": 3},
        {"output_file_name": "o.csv"},
        {"retry_settings.max_retries": 2},
        {"retry_settings.timeout": 60},
        {"error_threshold": -1},
    ]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"mini_batch_size": "10"}, "overrides.mini_batch_size"),
        ({"instance_count": -1}, "overrides.instance_count"),
        ({"instance_count": True}, "overrides.instance_count"),
        ({"error_threshold": -2}, "overrides.error_threshold"),
        ({"output_file_name": "../escape.csv"}, "overrides.output_file_name"),
        ({"logging_level": "debug"}, "overrides.logging_level"),
        ("mini_batch_size=10", "overrides"),
    ],
)
def test_bad_overrides_name_the_field(value, field):
    with pytest.raises(AzureMLConfigurationError) as err:
        BatchJobOverrides.parse(value)
    assert err.value.field == field


def test_output_type():
    assert output_type("azureml://datastores/d/paths/out/predictions.csv") == "uri_file"
    assert output_type("azureml://datastores/d/paths/out/run1/") == "uri_folder"


# -- the ids Azure ML gives data assets and datastore paths ------------------------------------------

WORKSPACE_ID = "/subscriptions/s1/resourceGroups/g1/providers/Microsoft.MachineLearningServices/workspaces/w1"
LONG_FORM = "azureml://subscriptions/s1/resourcegroups/g1/workspaces/w1/datastores/workspaceblobstore/paths"


@pytest.mark.parametrize(
    ("value", "sent", "kind"),
    [
        (f"{WORKSPACE_ID}/data/digits/versions/1", f"{WORKSPACE_ID}/data/digits/versions/1", "uri_folder"),
        (f"{WORKSPACE_ID}/datastores/workspaceblobstore/paths/in/x/", f"{LONG_FORM}/in/x/", "uri_folder"),
        (f"{WORKSPACE_ID}/datastores/workspaceblobstore/paths/in/a.csv", f"{LONG_FORM}/in/a.csv", "uri_file"),
    ],
)
def test_arm_ids_of_data_assets_and_datastore_paths_are_inputs(value, sent, kind):
    """azure-ai-ml takes a data asset's ARM id as it is and a datastore path only in an azureml:// form."""
    assert BatchInput.parse(value) == BatchInput(uri=sent, type=kind)
    assert not BatchInput.parse(value).is_local


def test_a_location_id_of_a_data_asset_is_an_input():
    """Accepted as given; the hook sends it as azureml:<name>:<version> after checking the workspace."""
    value = "azureml://locations/westeurope/workspaces/0f1e2d3c-aaaa/data/digits/versions/2"
    assert BatchInput.parse(value, "inputs.images") == BatchInput(uri=value, type="uri_folder")
    assert not BatchInput.parse(value).is_local


@pytest.mark.parametrize(
    "value", ["https://account.blob.core.windows.net/out/", "http://account/out/", f"{WORKSPACE_ID}/data/d/versions/1"]
)
def test_an_output_must_be_a_datastore_path(value):
    with pytest.raises(AzureMLConfigurationError, match="only to datastores, not to URLs") as err:
        check_output_path(value)
    assert err.value.field == "output_path"


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("azureml://datastores/workspaceblobstore/paths/out/", "azureml://datastores/workspaceblobstore/paths/out/"),
        (f"{LONG_FORM}/out/", f"{LONG_FORM}/out/"),
        (f"{WORKSPACE_ID}/datastores/workspaceblobstore/paths/out/p.csv", f"{LONG_FORM}/out/p.csv"),
    ],
)
def test_an_output_datastore_path_is_sent_in_an_azureml_form(value, sent):
    assert check_output_path(value) == sent


@pytest.mark.parametrize("value", ["http://[broken", "https://[::1/x.csv", "https://host:port/x", "https://h:99999/x"])
def test_a_malformed_url_input_names_the_field(value):
    with pytest.raises(AzureMLConfigurationError, match="is not a valid URL") as err:
        BatchInput.parse({"uri": value}, "inputs.images")
    assert err.value.field == "inputs.images"


# -- literal inputs and named outputs (pipeline component deployments) -------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, JobLiteral(3, "integer")),
        (0.5, JobLiteral(0.5, "number")),
        (True, JobLiteral(True, "boolean")),
        ({"type": "string", "value": "day"}, JobLiteral("day", "string")),
        ({"type": "number", "value": 3}, JobLiteral(3, "number")),
        ({"type": "string", "value": ""}, JobLiteral("", "string")),
        (
            "azureml://datastores/workspaceblobstore/paths/x/",
            BatchInput("azureml://datastores/workspaceblobstore/paths/x/"),
        ),
    ],
)
def test_numbers_and_booleans_are_plain_literals_and_strings_are_explicit(value, expected):
    assert parse_job_input(value, "inputs.x") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "integer", "value": 2.5}, "is not a finite integer"),
        ({"type": "integer", "value": True}, "is not a finite integer"),
        ({"type": "boolean", "value": "true"}, "is not a finite boolean"),
        ({"type": "string", "value": 3}, "is not a finite string"),
        ({"type": "number", "value": float("nan")}, "is not a finite number"),
        (float("inf"), "is not a finite number"),
        ({"type": "text", "value": "x"}, "is not a literal"),
        ({"type": "string", "value": "x", "extra": 1}, "is not a literal"),
    ],
)
def test_a_literal_that_does_not_match_its_type_names_the_input(value, message):
    with pytest.raises(AzureMLConfigurationError, match=message) as err:
        parse_job_input(value, "inputs.x")
    assert err.value.field == "inputs.x"


def test_named_outputs_are_datastore_paths_named_like_component_ports():
    uri = "azureml://datastores/workspaceblobstore/paths/out/"
    assert parse_outputs({"scores": uri}) == {"scores": uri}
    assert parse_outputs(None) == {}
    with pytest.raises(AzureMLConfigurationError) as err:
        parse_outputs({"scores": "https://account.blob.core.windows.net/out/"})
    assert err.value.field == "outputs.scores"
    with pytest.raises(AzureMLConfigurationError, match="is not an output name"):
        parse_outputs({"my-scores": uri})
    with pytest.raises(AzureMLConfigurationError, match="mapping"):
        parse_outputs(uri)


def test_an_integer_fits_a_number_input_but_not_the_other_way_round():
    ports = ComponentPorts("c:1", {"n": ComponentInput("integer", True), "x": ComponentInput("number", True)}, {})
    ports.check({"n": JobLiteral(3, "integer"), "x": JobLiteral(3, "integer")}, {})
    with pytest.raises(AzureMLConfigurationError, match="is of type number; component c:1 takes type integer") as err:
        ports.check({"n": JobLiteral(2.5, "number"), "x": JobLiteral(1, "integer")}, {})
    assert err.value.field == "inputs.n"


def test_an_optional_input_or_one_with_a_default_may_be_left_out():
    ports = ComponentPorts("c:1", {"a": ComponentInput("string", False), "b": ComponentInput("uri_folder", True)}, {})
    with pytest.raises(AzureMLConfigurationError, match="requires it") as err:
        ports.check({}, {})
    assert err.value.field == "inputs.b"
    ports.check({"b": BatchInput("azureml://datastores/d/paths/x/")}, {})


def test_one_input_or_a_mapping_of_named_inputs():
    from airflow_batchml.batch_job import is_one_input

    folder = "azureml://datastores/workspaceblobstore/paths/landing/"
    assert is_one_input(folder)
    assert is_one_input({"uri": folder, "type": "uri_folder", "etag": '"0x1"', "job_name": "j"})  # a change record
    assert is_one_input({"path": folder, "type": "uri_folder"})
    assert not is_one_input({"path": folder, "threshold": 3})  # a pipeline input named path
    assert not is_one_input({"images": folder})
