from __future__ import annotations

from airflow_batchml.triggers.job import AzureMLJobTrigger


def test_serialize_round_trips_every_constructor_argument():
    trigger = AzureMLJobTrigger(
        job_name="j1",
        azure_ml_conn_id="c",
        end_time=123.5,
        poll_interval=2,
        cancel_on_timeout=False,
        cancel_on_kill=False,
        max_consecutive_errors=3,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_batchml.triggers.job.AzureMLJobTrigger"
    again = AzureMLJobTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert kwargs["end_time"] == 123.5
