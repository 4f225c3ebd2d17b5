"""Change-based schedule on the v2 form: each image added to or modified in a datastore folder runs the pipeline.

SDK v1 ``Schedule.create(..., datastore=<blob datastore>, path_on_datastore="digits/pipeline-landing",
data_path_parameter_name="image")`` on a published pipeline becomes an ``Asset`` whose ``AssetWatcher``
watches ``path`` of the datastore ``workspaceblobstore`` (the container and its credentials are read
from the workspace, as v1 did; files in sub-folders are ignored, as v1 ignored them). Each changed file
starts a run of the one-file pipeline deployment with that file as its ``image`` data input: the v1
data-path parameter. Job names come from the change (container, blob, etag), so a change delivered twice
is scored once. Triggered by hand, it scores the blob records given in the ``blobs`` param.
Needs the endpoint and deployments from ``digits_pipeline_deployment``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import Asset, AssetWatcher, Param, dag, task
from digits.pipelines import ENDPOINT, FILE_DEPLOYMENT, MODEL
from digits.storage import DATASTORE, WATCH_POLL_INTERVAL

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger

FOLDER = "digits/pipeline-landing/"
JOB_PREFIX = "digits-pipeline-on-change"
log = logging.getLogger(__name__)

landed_digits = Asset(
    name="digits_pipeline_landing",
    uri=f"azureml://datastores/workspaceblobstore/paths/{FOLDER}",
    watchers=[
        AssetWatcher(
            name="digits_pipeline_landing_changes",
            trigger=WasbBlobChangeTrigger(
                datastore="workspaceblobstore",
                path=FOLDER,
                glob="*.png",
                poll_interval=WATCH_POLL_INTERVAL,
                job_name_prefix=JOB_PREFIX,
            ),
        )
    ],
)


@dag(
    schedule=[landed_digits],
    catchup=False,
    params={
        "blobs": Param(
            [],
            type="array",
            description="Blob records to score when triggered by hand: {container, name, etag} as the "
            "change trigger reports them. Ignored for runs started by a change.",
        )
    },
    tags=["azure-ml", "pipeline-component", "blob-change"],
)
def digits_pipeline_on_blob_change():
    @task
    def changed_images(triggering_asset_events=None, params=None) -> list[dict]:
        """One pipeline run per changed file: the file as the ``image`` data input, the change's job name."""
        from urllib.parse import quote

        from airflow_batchml.job_names import change_job_name

        blobs = [
            blob
            for events in (triggering_asset_events or {}).values()
            for event in events
            for blob in (event.extra.get("payload") or {}).get("blobs", [])
        ] or params["blobs"]
        log.info("%d changed file(s) to score", len(blobs))
        return [
            {
                "inputs": {
                    "image": {"uri": f"{DATASTORE}/{quote(blob['name'])}", "type": "uri_file"},
                    "model": MODEL,
                    "pixel_scale": 15,
                },
                "job_name": change_job_name(JOB_PREFIX, blob["container"], blob["name"], blob["etag"]),
            }
            for blob in blobs
        ]

    # Retries are safe (a retry attaches to the job of its change); see digits_on_blob_change for why
    # they are needed for jobs that end within seconds (apache/airflow#72716).
    score = AzureMLInvokeBatchEndpointOperator.partial(
        task_id="run_pipeline",
        endpoint_name=ENDPOINT,
        deployment_name=FILE_DEPLOYMENT,
        poll_interval=2,
        timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),
    ).expand_kwargs(changed_images())

    @task
    def collect_predictions(results: list[dict]) -> dict[str, int]:
        import csv
        import io

        from digits.pipelines import read_output

        predictions = {}
        for result in results:
            for row in csv.DictReader(io.StringIO(read_output(result, "predictions", "predictions.csv"))):
                predictions[row["file"]] = int(row["prediction"])
        log.info("Predictions: %s", predictions)
        return predictions

    collect_predictions(score.output)


digits_pipeline_on_blob_change()
