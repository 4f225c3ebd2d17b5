"""Mapped scoring for the Celery end-to-end suite: one small job per input file, one mapped task each.

``celery_fan_out`` scores on endpoint ``celery-quick`` (jobs end within seconds); ``celery_held_waits``
on ``celery-held``, whose jobs wait until the test releases them, so every task sits deferred in a
triggerer meanwhile. The conf names the files: ``<folder>/<stem>-<n>.txt`` for n < ``count``. No output
path is given, so each task's job is keyed by its output folder (dag, task, run, map index, input): a
retry finds the job its first try started.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator

PARAMS = {
    "folder": Param("celery/in", type="string", description="Datastore folder of the input files."),
    "stem": Param("item", type="string", description="Input files are named <stem>-<n>.txt."),
    "count": Param(1, type="integer", minimum=1, maximum=1000, description="How many files, one job each."),
}


@task
def input_files(**context) -> list[dict[str, str]]:
    params = context["params"]
    folder = f"azureml://datastores/workspaceblobstore/paths/{params['folder']}"
    return [{"uri": f"{folder}/{params['stem']}-{n:04d}.txt", "type": "uri_file"} for n in range(params["count"])]


def mapped_scoring(dag_id: str, endpoint: str, poll_interval: float) -> None:
    @dag(dag_id=dag_id, schedule=None, catchup=False, params=PARAMS, tags=["e2e-celery"])
    def scoring():
        AzureMLInvokeBatchEndpointOperator.partial(
            task_id="score",
            endpoint_name=endpoint,
            poll_interval=poll_interval,
            timeout=1800,
            retries=2,
            retry_delay=timedelta(seconds=5),
        ).expand(inputs=input_files())

    scoring()


mapped_scoring("celery_fan_out", "celery-quick", poll_interval=2)
mapped_scoring("celery_held_waits", "celery-held", poll_interval=10)
