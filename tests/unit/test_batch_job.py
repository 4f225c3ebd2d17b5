from __future__ import annotations

import pytest

from airflow_batchml.batch_job import BatchInput, BatchJobOverrides, output_type
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
