"""A Data-Factory-shaped DAG with the pipeline component deployment as one step among storage steps.

The shape of an Azure Data Factory pipeline with a "Machine Learning Execute Pipeline" activity: Get
Metadata (what landed) -> If Condition (anything?) -> Copy (landing to a staging folder of this run) ->
run the ML pipeline on the staging folder (a batch endpoint's pipeline component deployment, with a
data input, a literal and two named outputs) -> Copy (its predictions to the ``curated`` container) ->
Delete (the landed files are archived and the staging folder removed, whether scoring worked or not).
Needs the endpoint from ``digits_pipeline_deployment``.
"""

from __future__ import annotations

import logging

from airflow.sdk import dag, task
from digits.pipelines import ENDPOINT, FOLDER_DEPLOYMENT, MODEL
from digits.storage import CONTAINER, DATASTORE

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator

LANDING = "digits/factory-landing"
ARCHIVE = "digits/factory-archive"
RUN = "{{ run_id | replace(':', '-') | replace('+', '-') }}"
STAGING = f"digits/factory-staging/{RUN}"
OUTPUT = f"{DATASTORE}/digits/factory-scored/{RUN}"
CURATED_CONTAINER = "curated"
log = logging.getLogger(__name__)


@dag(schedule=None, catchup=False, tags=["azure-ml", "pipeline-component", "data-factory"])
def digits_pipeline_data_factory():
    @task
    def get_metadata() -> list[str]:
        """The files directly in the landing folder (Data Factory's Get Metadata, childItems)."""
        from digits.storage import list_folder

        return list_folder(LANDING)

    @task.short_circuit
    def anything_landed(names: list[str]) -> bool:
        log.info("%d file(s) landed in %s", len(names), LANDING)
        return bool(names)

    @task
    def copy_to_staging(names: list[str], staging: str) -> int:
        from digits.storage import wasb

        client = wasb().get_conn().get_container_client(CONTAINER)
        for name in names:
            source = client.get_blob_client(name).download_blob().readall()
            client.get_blob_client(f"{staging}/{name.rsplit('/', 1)[-1]}").upload_blob(source, overwrite=True)
        return len(names)

    run_pipeline = AzureMLInvokeBatchEndpointOperator(
        task_id="run_ml_pipeline",
        endpoint_name=ENDPOINT,
        deployment_name=FOLDER_DEPLOYMENT,
        inputs={"images": f"{DATASTORE}/{STAGING}/", "model": MODEL, "pixel_scale": 15},
        outputs={"features": f"{OUTPUT}/features/", "predictions": f"{OUTPUT}/predictions/"},
        experiment_name="digits-data-factory",
        poll_interval=2,
        timeout=1800,
    )

    @task
    def copy_predictions(result: dict, run: str) -> str:
        from digits.pipelines import read_output
        from digits.storage import wasb

        target = f"digits/factory/{run}/predictions.csv"
        content = read_output(result, "predictions", "predictions.csv")
        wasb().upload(CURATED_CONTAINER, target, content, overwrite=True, create_container=True)
        log.info("Copied %d prediction(s) to %s/%s", len(content.splitlines()) - 1, CURATED_CONTAINER, target)
        return f"{CURATED_CONTAINER}/{target}"

    @task(trigger_rule="all_done")
    def archive_and_clean_up(names: list[str], staging: str) -> dict[str, int]:
        """Move the landed files to the archive only once they were scored; always drop the staging folder."""
        from airflow.sdk import get_current_context
        from digits.storage import delete_folder, wasb

        scored = get_current_context()["ti"].xcom_pull(task_ids="copy_predictions") is not None
        client = wasb().get_conn().get_container_client(CONTAINER)
        for name in names if scored else []:
            data = client.get_blob_client(name).download_blob().readall()
            client.get_blob_client(f"{ARCHIVE}/{name.rsplit('/', 1)[-1]}").upload_blob(data, overwrite=True)
            client.delete_blob(name)
        summary = {"archived": len(names) if scored else 0, "staged_deleted": delete_folder(staging, CONTAINER)}
        log.info("Clean-up %s", summary)
        return summary

    landed = get_metadata()
    staged = copy_to_staging(landed, STAGING)
    anything_landed(landed) >> staged >> run_pipeline
    copy_predictions(run_pipeline.output, RUN) >> archive_and_clean_up(landed, STAGING)


digits_pipeline_data_factory()
