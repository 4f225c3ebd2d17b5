"""What counts as an argument rendered later, and its stand-in at parse time."""

from __future__ import annotations

from airflow.sdk import DAG, task

from airflow_batchml.sensors.blob_changes import WasbBlobChangeSensor
from airflow_batchml.templating import STAND_IN, stand_in, unrendered


def test_jinja_strings_and_task_outputs_are_rendered_later():
    with DAG("templating", schedule=None):

        @task
        def store() -> str:
            return "workspaceblobstore"

        reference = store()
    assert unrendered("{{ params.folder }}")
    assert unrendered(reference)
    assert not any(map(unrendered, ("landing/", "", None, 3, True, ["a"], {"k": "v"})))
    assert (stand_in(reference), stand_in("landing/"), stand_in(None)) == (STAND_IN, "landing/", None)


def test_a_datastore_from_an_upstream_task_is_accepted_when_the_dag_is_parsed():
    with DAG("datastore_from_upstream", schedule=None):

        @task
        def store() -> str:
            return "workspaceblobstore"

        sensor = WasbBlobChangeSensor(task_id="wait", datastore=store(), path="landing/")
    assert sensor.path == "landing/"


def test_a_bad_literal_datastore_still_fails_when_the_dag_is_parsed():
    import pytest

    from airflow_batchml.exceptions import AzureMLConfigurationError

    with pytest.raises(AzureMLConfigurationError) as err:
        WasbBlobChangeSensor(task_id="wait", datastore="not a store!", path="landing/")
    assert err.value.field == "datastore"
