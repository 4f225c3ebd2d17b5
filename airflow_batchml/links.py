"""Operator extra links to a job in Azure ML studio.

Operators push ``{"job_name", "studio_url"}`` under the XCom key ``azure_ml_job`` as soon as the job exists,
so the link works while the task is still waiting (deferred) and after it fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator, Context

JOB_XCOM_KEY = "azure_ml_job"


def studio_job_url(settings: Any, job_name: str) -> str:
    """The studio page of a job (custom clouds and the emulator have no studio: the link names the job)."""
    from airflow_batchml.hooks.clouds import CLOUDS

    workspace = (
        f"/subscriptions/{settings.subscription_id}/resourcegroups/{settings.resource_group}"
        f"/workspaces/{settings.workspace_name}"
    )
    if settings.resource_manager_url:
        return f"{settings.resource_manager_url.rstrip('/')}{workspace}/jobs/{job_name}"
    return f"{CLOUDS[settings.cloud].studio_url}/runs/{job_name}?wsid={workspace}"


def persist_job_link(context: Context, job_name: str, studio_url: str, extra: dict[str, Any]) -> None:
    context["ti"].xcom_push(key=JOB_XCOM_KEY, value={**extra, "job_name": job_name, "studio_url": studio_url})


class AzureMLJobLink(BaseOperatorLink):
    """'Azure ML job' link on the task: opens the job the task started or waited for."""

    name = "Azure ML job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.providers.common.compat.sdk import XCom

        value = XCom.get_value(key=JOB_XCOM_KEY, ti_key=ti_key)
        return (value or {}).get("studio_url", "") if isinstance(value, dict) else ""
