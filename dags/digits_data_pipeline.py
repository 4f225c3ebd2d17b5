"""Data-orchestration pipeline: the Azure Data Factory shape, with batch scoring as one step among many.

wait for files in a landing folder (``WasbBlobChangeSensor``: blobs added or modified since this task last
succeeded, or, on the very first run, every file already waiting) -> validate and transform them (drop
what is not a non-empty PNG, normalise the rest to 8x8 greyscale, write them to a staging folder of this
run) -> batch-score the staging folder -> publish the predictions to a ``curated`` container -> clean up
the staging folder, whether scoring worked or not. Needs the endpoint from ``digits_batch_scoring``.
"""

from __future__ import annotations

import logging

from airflow.sdk import dag, task
from digits.storage import CONTAINER, DATASTORE

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.sensors.blob_changes import WasbBlobChangeSensor

LANDING = "digits/landing/"
STAGING = "digits/staging/{{ run_id | replace(':', '-') | replace('+', '-') }}"
CURATED_CONTAINER = "curated"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
log = logging.getLogger(__name__)


@dag(schedule=None, catchup=False, tags=["azure-ml", "batch-endpoint", "pipeline"])
def digits_data_pipeline():
    landed = WasbBlobChangeSensor(
        task_id="wait_for_landed_files",
        container_name=CONTAINER,
        prefix=LANDING,
        include_existing=True,
        poke_interval=30,
        timeout=3600,
    )

    @task
    def validate_and_stage(blobs: list[dict], staging: str) -> list[str]:
        """Keep non-empty PNG files, normalised to the model's 8x8 greyscale, in the staging folder."""
        import io

        from digits.storage import wasb
        from PIL import Image

        hook = wasb()
        staged = []
        for blob in blobs:
            data = hook.download(CONTAINER, blob["name"]).readall() if blob["size"] else b""
            if not data.startswith(PNG_SIGNATURE):
                log.warning("Dropping %s: not a PNG file (%d bytes)", blob["name"], len(data))
                continue
            image = Image.open(io.BytesIO(data)).convert("L").resize((8, 8))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            name = f"{staging}/{blob['name'].rsplit('/', 1)[-1]}"
            hook.upload(CONTAINER, name, buffer.getvalue(), overwrite=True)
            staged.append(name)
        if not staged:
            raise ValueError(f"none of the {len(blobs)} landed file(s) is a valid PNG")
        log.info("Staged %d of %d landed file(s) in %s", len(staged), len(blobs), staging)
        return staged

    score = AzureMLInvokeBatchEndpointOperator(
        task_id="score_staged_files",
        endpoint_name="digits-batch",
        inputs=f"{DATASTORE}/{STAGING}/",
        poll_interval=2,
        timeout=1800,
    )

    @task
    def publish_predictions(result: dict, run_id=None) -> str:
        """Copy the job's predictions.csv, with a header, to the curated container."""
        from digits.evaluation import read_predictions
        from digits.storage import wasb

        content = read_predictions(result)
        rows = ["file,prediction"] + [",".join(line.split()) for line in content.splitlines() if line.strip()]
        target = f"digits/predictions/{result['job_name']}.csv"
        wasb().upload(CURATED_CONTAINER, target, "\n".join(rows) + "\n", overwrite=True, create_container=True)
        log.info("Published %d prediction(s) of run %s to %s/%s", len(rows) - 1, run_id, CURATED_CONTAINER, target)
        return f"{CURATED_CONTAINER}/{target}"

    @task(trigger_rule="all_done")
    def clean_up_staging(staging: str) -> int:
        from digits.storage import delete_folder

        deleted = delete_folder(staging, CONTAINER)
        log.info("Deleted %d staged file(s) from %s", deleted, staging)
        return deleted

    staged = validate_and_stage(landed.output, STAGING)
    published = publish_predictions(score.output)
    staged >> score
    published >> clean_up_staging(STAGING)


digits_data_pipeline()
