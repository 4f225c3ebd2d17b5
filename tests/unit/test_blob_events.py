"""Event Grid blob events: both schemas, both encodings, the filters, and what counts as poison."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_batchml.blob_events import (
    CREATED,
    DELETED,
    BlobEvent,
    BlobEventFilter,
    PoisonMessageError,
    parse_message,
    record,
)
from airflow_batchml.changes import BlobEntry, describe
from airflow_batchml.exceptions import AzureMLConfigurationError
from tests.support.event_grid import blob_event, encode

WHEN = "2017-06-26T18:41:00.9584103Z"


def created(name: str = "in/a.csv", container: str = "landing", size: int = 3, **kwargs) -> BlobEvent:
    return BlobEvent(CREATED, container, name, '"0x1"', size, datetime(2026, 1, 1, tzinfo=UTC), "id", **kwargs)


@pytest.mark.parametrize("cloud_events", [False, True])
def test_a_created_event_in_either_schema_and_encoding_parses_to_the_blob(cloud_events):
    event = blob_event(
        "created", "landing", "in/a b.csv", etag="0x8D4BCC2E4835CD0", size=524288, when=WHEN, cloud_events=cloud_events
    )
    for content in (encode(event), json.dumps(event)):
        (parsed,) = parse_message(content)
        assert (parsed.kind, parsed.container, parsed.name, parsed.size) == (CREATED, "landing", "in/a b.csv", 524288)
        assert parsed.etag == '"0x8D4BCC2E4835CD0"'  # quoted like the storage SDK's etag
        assert parsed.time == datetime(2017, 6, 26, 18, 41, 0, 958410, tzinfo=UTC)


def test_a_deleted_event_has_no_etag_and_an_array_of_events_is_read_whole():
    events = [
        blob_event("deleted", "landing", "in/old.csv", when=WHEN),
        blob_event("created", "landing", "x", etag="0x2", size=1, when=WHEN),
    ]
    parsed = parse_message(encode(events))
    assert [(e.kind, e.name, e.etag) for e in parsed] == [(DELETED, "in/old.csv", None), (CREATED, "x", '"0x2"')]


def test_other_event_types_are_not_changes_and_not_poison():
    event = {
        **blob_event("created", "landing", "a", etag="0x1", size=1, when=WHEN),
        "eventType": "Microsoft.Storage.BlobTierChanged",
    }
    assert parse_message(encode(event)) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json at all", "neither JSON nor base64"),
        (base64.b64encode(b"{broken").decode(), "invalid JSON"),
        ("[]", "empty event array"),
        ("[1]", "not an event object"),
        (
            json.dumps({"eventType": "Microsoft.Storage.BlobCreated", "subject": "/x", "eventTime": WHEN, "data": {}}),
            "does not name a blob",
        ),
        (
            json.dumps({**blob_event("created", "c", "a", etag="0x1", size=1, when=WHEN), "data": {"url": "u"}}),
            "without eTag",
        ),
        (
            json.dumps({**blob_event("created", "c", "a", etag="0x1", size=1, when=WHEN), "eventTime": "yesterday"}),
            "bad time",
        ),
    ],
)
def test_unreadable_messages_are_poison_with_a_reason(content, reason):
    with pytest.raises(PoisonMessageError, match=reason):
        parse_message(content)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
EVENT_LIKE = st.fixed_dictionaries(
    {
        "eventType": st.sampled_from(["Microsoft.Storage.BlobCreated", "Microsoft.Storage.BlobDeleted", "Other"]),
        "subject": st.just("/blobServices/default/containers/c/blobs/a") | JSON,
        "eventTime": st.just(WHEN) | JSON,
        "data": st.fixed_dictionaries({"eTag": st.just("0x1") | JSON, "contentLength": st.just(1) | JSON}) | JSON,
    }
)


@given(st.binary(max_size=200) | st.text(max_size=200) | JSON.map(json.dumps) | EVENT_LIKE.map(encode))
def test_any_content_parses_or_is_poison_never_another_error(content):
    with contextlib.suppress(PoisonMessageError):
        for event in parse_message(content):
            assert event.kind in (CREATED, DELETED) and event.name and event.container


@given(
    name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
    begins=st.text(alphabet="ab/", max_size=3).filter(lambda s: not s.startswith("/")),
    ends=st.text(alphabet="ab.", max_size=3),
)
def test_the_filter_is_exactly_container_prefix_suffix_and_non_empty(name, begins, ends):
    keep = BlobEventFilter("landing", begins, ends)
    expected = name.startswith(begins) and name.endswith(ends) and not name.endswith("/")
    assert keep.accepts(created(name)) is expected
    assert not keep.accepts(created(name, container="other"))
    assert not keep.accepts(created(name, size=0))
    assert BlobEventFilter("landing", begins, ends, ignore_empty=False).accepts(created(name, size=0)) is (
        name.startswith(begins) and name.endswith(ends)
    )


def test_deletions_count_only_when_asked():
    deleted = BlobEvent(DELETED, "landing", "in/a.csv", None, None, datetime(2026, 1, 1, tzinfo=UTC), "id")
    assert not BlobEventFilter("landing").accepts(deleted)
    assert BlobEventFilter("landing", kinds=("deleted",)).accepts(deleted)
    assert not BlobEventFilter("landing", kinds=("deleted",)).accepts(created())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"container": ""}, "container_name"),
        ({"container": "a/b"}, "container_name"),
        ({"container": "c", "begins_with": "/c/blobs/in"}, "blob_path_begins_with"),
        ({"container": "c", "ends_with": "/x"}, "blob_path_ends_with"),
        ({"container": "c", "kinds": ()}, "events"),
        ({"container": "c", "kinds": ("updated",)}, "events"),
    ],
)
def test_malformed_filters_name_the_argument(kwargs, field):
    with pytest.raises(AzureMLConfigurationError, match=field):
        BlobEventFilter(**kwargs)


def test_the_record_is_the_listing_triggers_record_of_the_same_blob_version():
    event = created("in/a b.csv")
    entry = BlobEntry(name=event.name, etag=event.etag, last_modified=event.time, size=event.size)
    url = "https://acct.blob.core.windows.net"
    for datastore in (None, "landing_store"):
        expected = describe(
            "added", entry, container="landing", account_url=url, datastore=datastore, job_prefix="score"
        )
        assert record(event, account_url=url, datastore=datastore, job_prefix="score") == expected
