"""v1 housekeeping: list the SDK v1 schedules and published pipelines still in the workspace, disable some by id.

v1 schedules keep firing their published pipelines until someone turns them off. Once a pipeline's v2
replacement (a pipeline component deployment on a batch endpoint, run by an Airflow DAG) is live, this DAG
takes the old side down: ``AzureMLListV1SchedulesOperator`` and ``AzureMLListPublishedPipelinesOperator``
log every schedule and pipeline with its id, type and status (and put them in XCom), then
``AzureMLDisableV1SchedulesOperator`` disables the schedules whose ids the ``schedule_ids`` param lists and
``AzureMLDisablePublishedPipelinesOperator`` the pipelines of ``published_pipeline_ids`` (a disabled
pipeline refuses runs, so nothing can start it any more). Schedules go first: they are what fires.
Disabling what is already disabled changes nothing, so a re-run succeeds. Run it once with empty lists to
see the ids, then again with the ids to disable.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from airflow_batchml.operators.pipelines import (
    AzureMLDisablePublishedPipelinesOperator,
    AzureMLDisableV1SchedulesOperator,
    AzureMLListPublishedPipelinesOperator,
    AzureMLListV1SchedulesOperator,
)

GUID_LIST = {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-fA-F-]{36}$"}}


@dag(
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "schedule_ids": Param([], **GUID_LIST, description="Ids of the v1 schedules to disable."),
        "published_pipeline_ids": Param([], **GUID_LIST, description="Ids of the published pipelines to disable."),
        "include_disabled": Param(True, type="boolean", description="Also list what is disabled already."),
    },
    tags=["azure-ml", "published-pipeline", "schedules"],
)
def v1_housekeeping():
    schedules = AzureMLListV1SchedulesOperator(
        task_id="list_v1_schedules", include_disabled="{{ params.include_disabled }}"
    )
    pipelines = AzureMLListPublishedPipelinesOperator(
        task_id="list_published_pipelines", include_disabled="{{ params.include_disabled }}"
    )
    disable_schedules = AzureMLDisableV1SchedulesOperator(
        task_id="disable_v1_schedules", schedule_ids="{{ params.schedule_ids }}"
    )
    disable_pipelines = AzureMLDisablePublishedPipelinesOperator(
        task_id="disable_published_pipelines", published_pipeline_ids="{{ params.published_pipeline_ids }}"
    )
    [schedules, pipelines] >> disable_schedules >> disable_pipelines


v1_housekeeping()
