"""EventGridBlobTrigger without storage: serialisation and argument checks."""

from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.triggers.blob_events import EventGridBlobTrigger


def test_serialize_returns_exactly_the_constructor_arguments_and_rebuilds_the_same_trigger():
    trigger = EventGridBlobTrigger(
        "landing-events", "landing", blob_path_begins_with="in/", events=["deleted", "created"], batch_size=10
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_batchml.triggers.blob_events.EventGridBlobTrigger"
    again = EventGridBlobTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert again.filter.kinds == ("created", "deleted")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"queue_name": "ab"}, "queue_name"),
        ({"queue_name": "has_underscore"}, "queue_name"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_deliveries": 0}, "max_deliveries"),
        ({"poll_interval": 300, "visibility_timeout": 300}, "visibility_timeout"),
        ({"retry_delay": 0}, "retry_delay"),
        ({"container_name": ""}, "container_name"),
    ],
)
def test_bad_arguments_fail_where_the_trigger_is_built(kwargs, field):
    with pytest.raises(AzureMLConfigurationError, match=field):
        EventGridBlobTrigger(**{"queue_name": "landing-events", "container_name": "landing", **kwargs})
