"""What every Azure ML operator and sensor shares: the connection id and the hook built from it."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow_batchml.hooks.azure_ml import AzureMLHook


class AzureMLHookMixin:
    """The ``hook`` of a task with an ``azure_ml_conn_id``, built when the task first uses it."""

    azure_ml_conn_id: str

    @cached_property
    def hook(self) -> AzureMLHook:
        from airflow_batchml.hooks.azure_ml import AzureMLHook  # not at parse time: only tasks that run need it

        return AzureMLHook(azure_ml_conn_id=self.azure_ml_conn_id)


class AzureMLBaseOperator(AzureMLHookMixin, BaseOperator):
    """The base of the Azure ML operators that do one call and return."""

    ui_color = "#0078d4"

    def __init__(self, *, azure_ml_conn_id: str = "azure_ml_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.azure_ml_conn_id = azure_ml_conn_id
