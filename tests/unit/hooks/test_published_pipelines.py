"""v1 pipelines: how a pipeline may be named (the run body and the service's entities: test_pipeline_entities.py)."""

from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.published_pipelines import check_pipeline_target

PIPELINE_ID = "0b3c6a4e-1f1d-4c55-9b1e-1234567890ab"


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
