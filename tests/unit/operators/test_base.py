"""What every Azure ML operator shares: the connection id (default and rendered) and a hook built on first use."""

from __future__ import annotations

from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.operators.base import AzureMLBaseOperator, AzureMLHookMixin


class OneCallOperator(AzureMLBaseOperator):
    template_fields = ("azure_ml_conn_id",)


def test_the_connection_defaults_to_azure_ml_default():
    assert OneCallOperator(task_id="t").azure_ml_conn_id == "azure_ml_default"
    assert OneCallOperator(task_id="t", azure_ml_conn_id="aml_prod").azure_ml_conn_id == "aml_prod"


def test_the_operators_share_the_azure_blue():
    assert OneCallOperator.ui_color == AzureMLBaseOperator.ui_color == "#0078d4"


def test_no_hook_is_built_when_the_task_is_created():
    assert "hook" not in vars(OneCallOperator(task_id="t"))


def test_the_hook_is_built_once_on_the_connection_of_the_task():
    task = OneCallOperator(task_id="t", azure_ml_conn_id="aml_prod")
    hook = task.hook
    assert isinstance(hook, AzureMLHook)
    assert hook.azure_ml_conn_id == "aml_prod"
    assert task.hook is hook


def test_the_hook_uses_the_rendered_connection_id():
    task = OneCallOperator(task_id="t", azure_ml_conn_id="aml_{{ params.env }}")
    task.render_template_fields({"params": {"env": "prod"}})
    assert task.hook.azure_ml_conn_id == "aml_prod"


def test_the_mixin_gives_any_object_with_a_connection_id_its_hook():
    class Waiter(AzureMLHookMixin):
        azure_ml_conn_id = "aml_sensor"

    assert Waiter().hook.azure_ml_conn_id == "aml_sensor"
