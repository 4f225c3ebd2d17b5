"""The v1 run body: a datastore URI's percent-encoded path becomes the plain RelativePath Azure expects."""

from __future__ import annotations

from airflow_batchml.hooks.published_pipelines import pipeline_run_body


def test_datastore_uri_paths_are_decoded_once():
    body = pipeline_run_body(
        "https://eastus.api.azureml.ms/pipelines/v1.0/x",
        "experiment",
        None,
        {
            "in": "azureml://datastores/workspaceblobstore/paths/landing/a%2541%20b.csv",
            "raw": {"datastore": "d", "path": "x%41"},
        },
    )
    assert body["DataPathAssignments"] == {
        "in": {"DataStoreName": "workspaceblobstore", "RelativePath": "landing/a%41 b.csv"},
        "raw": {"DataStoreName": "d", "RelativePath": "x%41"},
    }
