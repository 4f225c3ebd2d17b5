"""The endpoint and deployment operators' own part: what is templated, how it renders, their defaults.

They pass their arguments to the hook (its checks are in tests/unit/operators/test_bad_input.py); create,
promote, delete and "already gone counts as deleted" run against the emulator in
tests/integration/operators/test_lifecycle.py.
"""

from __future__ import annotations

import pytest
from azure.ai.ml.entities import ModelBatchDeployment

from airflow_batchml.operators.batch_endpoint import (
    AzureMLCreateBatchDeploymentOperator,
    AzureMLCreateBatchEndpointOperator,
    AzureMLDeleteBatchDeploymentOperator,
    AzureMLDeleteBatchEndpointOperator,
    AzureMLSetDefaultDeploymentOperator,
)

PARAMS = {"params": {"env": "prod", "model": "forest"}}


@pytest.mark.parametrize(
    ("operator", "fields"),
    [
        (
            AzureMLCreateBatchEndpointOperator,
            {"endpoint_name", "yaml_path", "description", "tags", "azure_ml_conn_id"},
        ),
        (AzureMLDeleteBatchEndpointOperator, {"endpoint_name", "azure_ml_conn_id"}),
        (
            AzureMLCreateBatchDeploymentOperator,
            {"deployment", "endpoint_name", "deployment_name", "azure_ml_conn_id"},
        ),
        (AzureMLSetDefaultDeploymentOperator, {"endpoint_name", "deployment_name", "azure_ml_conn_id"}),
        (AzureMLDeleteBatchDeploymentOperator, {"endpoint_name", "deployment_name", "azure_ml_conn_id"}),
    ],
)
def test_every_name_and_the_connection_are_templated(operator, fields):
    assert set(operator.template_fields) == fields


def test_an_endpoint_from_yaml_takes_its_name_from_the_yaml_unless_given():
    task = AzureMLCreateBatchEndpointOperator(task_id="endpoint", yaml_path="endpoint.yml")
    assert (task.endpoint_name, task.description, task.tags, task.azure_ml_conn_id) == (
        None,
        None,
        None,
        "azure_ml_default",
    )


def test_the_endpoints_name_description_and_tag_values_render():
    task = AzureMLCreateBatchEndpointOperator(
        task_id="endpoint",
        endpoint_name="digits-{{ params.env }}",
        description="Digits in {{ params.env }}",
        tags={"env": "{{ params.env }}", "team": "ml"},
    )
    task.render_template_fields(PARAMS)
    assert (task.endpoint_name, task.description, task.tags) == (
        "digits-prod",
        "Digits in prod",
        {"env": "prod", "team": "ml"},
    )


def test_a_yaml_path_renders_as_a_path_and_is_not_read_as_a_template():
    task = AzureMLCreateBatchEndpointOperator(task_id="endpoint", yaml_path="conf/{{ params.env }}/endpoint.yml")
    task.render_template_fields(PARAMS)
    assert task.yaml_path == "conf/prod/endpoint.yml"


def test_a_deployment_yaml_path_and_its_names_render():
    task = AzureMLCreateBatchDeploymentOperator(
        task_id="deploy",
        deployment="conf/{{ params.model }}.yml",
        endpoint_name="digits-{{ params.env }}",
        deployment_name="digits-{{ params.model }}",
    )
    task.render_template_fields(PARAMS)
    assert (task.deployment, task.endpoint_name, task.deployment_name) == (
        "conf/forest.yml",
        "digits-prod",
        "digits-forest",
    )
    assert task.set_default is False


def test_a_deployment_given_as_an_sdk_entity_passes_rendering_untouched():
    entity = ModelBatchDeployment(name="digits-forest", endpoint_name="digits", model="azureml:digits:1")
    task = AzureMLCreateBatchDeploymentOperator(task_id="deploy", deployment=entity, set_default=True)
    task.render_template_fields(PARAMS)
    assert task.deployment is entity
    assert (task.endpoint_name, task.deployment_name, task.set_default) == (None, None, True)


@pytest.mark.parametrize("operator", [AzureMLSetDefaultDeploymentOperator, AzureMLDeleteBatchDeploymentOperator])
def test_promote_and_delete_name_the_endpoint_and_deployment_as_rendered(operator):
    task = operator(
        task_id="t",
        endpoint_name="digits-{{ params.env }}",
        deployment_name="digits-{{ params.model }}",
        azure_ml_conn_id="aml_{{ params.env }}",
    )
    task.render_template_fields(PARAMS)
    assert (task.endpoint_name, task.deployment_name, task.azure_ml_conn_id) == (
        "digits-prod",
        "digits-forest",
        "aml_prod",
    )


def test_deleting_an_endpoint_names_it_as_rendered():
    task = AzureMLDeleteBatchEndpointOperator(task_id="t", endpoint_name="digits-{{ params.env }}")
    task.render_template_fields(PARAMS)
    assert task.endpoint_name == "digits-prod"
