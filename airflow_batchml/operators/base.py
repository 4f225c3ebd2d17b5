"""The base of the Azure ML operators that do one call and return: connection id and hook."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow_batchml.hooks.azure_ml import AzureMLHook


class AzureMLBaseOperator(BaseOperator):
    """Holds the connection id and the hook every Azure ML operator uses."""

    ui_color = "#0078d4"

    def __init__(self, *, azure_ml_conn_id: str = "azure_ml_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.azure_ml_conn_id = azure_ml_conn_id

    @cached_property
    def hook(self) -> AzureMLHook:
        from airflow_batchml.hooks.azure_ml import AzureMLHook  # not at parse time: only tasks that run need it

        return AzureMLHook(azure_ml_conn_id=self.azure_ml_conn_id)
