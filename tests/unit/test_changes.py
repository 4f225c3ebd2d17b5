"""The pure change-detection core: folder selection, globs, watermark + etag state, compactness."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from airflow_batchml.changes import (
    BlobEntry,
    BlobFolder,
    account_endpoint,
    compile_glob,
    describe,
    detect_changes,
    initial_state,
    normalize_prefix,
)
from airflow_batchml.exceptions import AzureMLConfigurationError

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def blob(name: str, etag: str = "e1", at: float = 0, size: int = 10, created: float | None = None) -> BlobEntry:
    creation = None if created is None else T0 + timedelta(seconds=created)
    return BlobEntry(name, etag, T0 + timedelta(seconds=at), size, creation_time=creation)


def poll(entries, state, at: float, **kwargs):
    return detect_changes(entries, state, listed_at=T0 + timedelta(seconds=at), **kwargs)


# --- folder selection -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("in", "in/"), ("/in/", "in/"), ("", ""), (None, ""), ("a/b", "a/b/")])
def test_prefix_is_read_as_a_folder(raw, expected):
    assert normalize_prefix(raw) == expected


def test_only_direct_children_by_default_and_subtree_when_recursive():
    names = ["in/a.csv", "in/sub/b.csv", "inbox/c.csv", "other/d.csv", "in/"]
    entries = [blob(n, size=0 if n.endswith("/") else 5) for n in names]
    assert [e.name for e in entries if BlobFolder("in").accepts(e)] == ["in/a.csv"]
    assert [e.name for e in entries if BlobFolder("in", recursive=True).accepts(e)] == ["in/a.csv", "in/sub/b.csv"]


def test_folder_markers_are_never_changes():
    hns_dir = BlobEntry("in/sub", "e", T0, 0, is_folder=True)
    slash_marker = BlobEntry("in/x/", "e", T0, 0)
    empty_file = BlobEntry("in/empty.csv", "e", T0, 0)
    folder = BlobFolder("in", recursive=True)
    assert not folder.accepts(hns_dir)
    assert not folder.accepts(slash_marker)
    assert folder.accepts(empty_file)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("*.csv", "a.csv", True),
        ("*.csv", "sub/a.csv", False),
        ("**.csv", "sub/a.csv", True),
        ("**/*.csv", "sub/deeper/a.csv", True),
        ("data_?.json", "data_1.json", True),
        ("data_[0-9].json", "data_x.json", False),
        ("data_[!0-9].json", "data_x.json", True),
        ("a+b(1).csv", "a+b(1).csv", True),
    ],
)
def test_glob_matches_relative_names(pattern, name, matches):
    assert (compile_glob(pattern).fullmatch(name) is not None) is matches


@pytest.mark.parametrize("pattern", ["[abc", "", "/abs/*.csv", "x[z-a]"])
def test_invalid_glob_is_a_clear_error_naming_the_field(pattern):
    with pytest.raises(AzureMLConfigurationError) as err:
        BlobFolder("in", glob=pattern)
    assert err.value.field == "glob"


def test_glob_filters_within_folder():
    folder = BlobFolder("in", glob="*.csv")
    assert folder.accepts(blob("in/a.csv"))
    assert not folder.accepts(blob("in/a.json"))


# --- change detection -------------------------------------------------------------------------------


def test_first_listing_is_a_baseline_unless_existing_blobs_are_wanted():
    entries = [blob("in/a"), blob("in/b")]
    baseline = poll(entries, None, at=100)
    assert baseline.changed == [] and baseline.state_changed
    everything = poll(entries, None, at=100, include_existing=True)
    assert [e.name for e in everything.added] == ["in/a", "in/b"]


def test_added_and_modified_are_told_apart():
    state = poll([blob("in/a", "e1", at=0)], None, at=100).state
    later = [blob("in/a", "e2", at=150, created=0), blob("in/b", "e1", at=150, created=150)]
    changes = poll(later, state, at=200)
    assert [e.name for e in changes.added] == ["in/b"]
    assert [e.name for e in changes.modified] == ["in/a"]


def test_nothing_new_writes_nothing():
    state = poll([blob("in/a", at=0)], None, at=100).state
    again = poll([blob("in/a", at=0)], state, at=500)
    assert again.changed == [] and not again.state_changed and again.state is state


def test_modification_in_the_watermark_second_is_seen():
    """Last-modified has one-second resolution: a new version can share the watermark's second."""
    state = poll([blob("in/a", "e1", at=10)], None, at=10, settle_seconds=0)
    assert state.state["watermark"] == (T0 + timedelta(seconds=10)).isoformat()
    assert state.state["etags"] == {"in/a": "e1"}
    same_second = poll([blob("in/a", "e2", at=10)], state.state, at=11, settle_seconds=0)
    assert [e.etag for e in same_second.modified] == ["e2"]


def test_blob_written_while_listing_paginates_is_caught_next_poll():
    """The listing (started at t=100) missed ``in/a`` written at t=100 but returned ``in/z`` written later."""
    state = poll([blob("in/old", at=0)], None, at=50).state
    first = poll([blob("in/old", at=0), blob("in/z", at=101)], state, at=100, settle_seconds=0)
    assert [e.name for e in first.added] == ["in/z"]
    second = poll([blob("in/a", at=100), blob("in/old", at=0), blob("in/z", at=101)], first.state, at=130)
    assert [e.name for e in second.added] == ["in/a"]


def test_a_change_is_reported_once_then_remembered():
    state = poll([], None, at=0).state
    changes = poll([blob("in/a", at=99)], state, at=100)
    assert [e.name for e in changes.added] == ["in/a"]
    assert poll([blob("in/a", at=99)], changes.state, at=101).changed == []
    assert poll([blob("in/a", at=99)], changes.state, at=10_000).changed == []


def test_state_of_many_unchanged_blobs_is_a_timestamp():
    entries = [blob(f"in/{i:05d}", f"e{i}", at=i % 600) for i in range(50_000)]
    state = poll(entries, None, at=3600).state
    assert state["etags"] == {}
    assert len(json.dumps(state)) < 100
    changed = (
        entries[:100] + [blob(f"in/{i:05d}", f"n{i}", at=3700, created=0) for i in range(100, 200)] + entries[200:]
    )
    result = poll(changed, state, at=3800)
    assert len(result.modified) == 100
    assert len(json.dumps(result.state)) < 100


def test_recent_blobs_are_kept_by_etag_until_they_settle():
    state = poll([], None, at=0).state
    changes = poll([blob("in/a", at=98), blob("in/b", at=99)], state, at=100, settle_seconds=5)
    assert set(changes.state["etags"]) == {"in/a", "in/b"}
    later = poll([blob("in/a", at=98), blob("in/b", at=99), blob("in/c", at=200)], changes.state, at=300)
    assert set(later.state["etags"]) == set()
    assert [e.name for e in later.added] == ["in/c"]


def test_watermark_never_moves_back():
    state = poll([], None, at=1000).state
    skewed = poll([blob("in/a", at=2000)], state, at=10)
    assert skewed.state["watermark"] == state["watermark"]


def test_initial_state_counts_everything_since_a_moment():
    state = initial_state(T0 + timedelta(seconds=100.7))
    changes = poll([blob("in/old", at=50, created=50), blob("in/new", at=100, created=100)], state, at=200)
    assert [e.name for e in changes.added] == ["in/new"]


def test_deletions_are_reported_only_when_tracked():
    tracked = poll([blob("in/a"), blob("in/b")], None, at=100, track_deletions=True)
    assert tracked.state["names"] == ["in/a", "in/b"]
    gone = poll([blob("in/a")], tracked.state, at=200, track_deletions=True)
    assert gone.deleted == ["in/b"] and gone.state_changed and gone.state["names"] == ["in/a"]
    untracked = poll([blob("in/a")], poll([blob("in/a"), blob("in/b")], None, at=100).state, at=200)
    assert untracked.deleted == [] and not untracked.state_changed


def written(name: str, etag: str, md5: str | None, at: float) -> BlobEntry:
    return BlobEntry(name, etag, T0 + timedelta(seconds=at), 10, creation_time=T0, content_md5=md5)


def test_same_bytes_written_again_are_a_change_by_default_and_none_when_ignored():
    first = [written("in/a", "e1", "md5-A", at=0)]
    again = [written("in/a", "e2", "md5-A", at=150)]
    assert [e.etag for e in poll(again, poll(first, None, at=100).state, at=200).modified] == ["e2"]

    baseline = poll(first, None, at=100, ignore_same_content=True)
    assert baseline.state["md5"] == {"in/a": "md5-A"}
    rewrite = poll(again, baseline.state, at=200, ignore_same_content=True)
    assert rewrite.changed == [] and rewrite.state_changed  # the new etag is remembered...
    quiet = poll(again, rewrite.state, at=201, ignore_same_content=True)
    assert quiet.changed == [] and not quiet.state_changed  # ...so the next poll has nothing to write

    edited = [written("in/a", "e3", "md5-B", at=250)]
    edit = poll(edited, quiet.state, at=300, ignore_same_content=True)
    assert [e.etag for e in edit.modified] == ["e3"] and edit.state["md5"] == {"in/a": "md5-B"}
    assert poll([written("in/a", "e4", "md5-A", at=350)], edit.state, at=400, ignore_same_content=True).modified


def test_blobs_without_an_md5_are_compared_by_etag():
    baseline = poll([written("in/big", "e1", None, at=0)], None, at=100, ignore_same_content=True)
    assert baseline.state["md5"] == {}
    changes = poll([written("in/big", "e2", None, at=150)], baseline.state, at=200, ignore_same_content=True)
    assert [e.etag for e in changes.modified] == ["e2"]


def test_turning_content_comparison_on_rewrites_a_state_without_md5s_once():
    state = poll([written("in/a", "e1", "md5-A", at=0)], None, at=100).state
    upgraded = poll([written("in/a", "e1", "md5-A", at=0)], state, at=200, ignore_same_content=True)
    assert upgraded.changed == [] and upgraded.state_changed and upgraded.state["md5"] == {"in/a": "md5-A"}


@pytest.mark.parametrize("bad", [{"v": 99, "etags": {}}, {"watermark": None}, "text"])
def test_unreadable_state_is_refused(bad):
    with pytest.raises(AzureMLConfigurationError, match="state"):
        poll([], bad, at=0)


def test_state_is_json_serialisable_round_trip():
    changes = poll([blob("in/a", at=99)], poll([], None, at=0).state, at=100, track_deletions=True)
    assert json.loads(json.dumps(changes.state)) == changes.state


def test_describe_gives_an_input_and_a_deterministic_job_name():
    entry = blob("in/a b.csv", '"0x8D1"', at=5)
    record = describe(
        "added",
        entry,
        container="landing",
        account_url="https://acct.blob.core.windows.net/",
        datastore=None,
        job_prefix="score",
    )
    assert record["uri"] == "https://acct.blob.core.windows.net/landing/in/a%20b.csv"
    assert record["last_modified"] == (T0 + timedelta(seconds=5)).isoformat()
    again = describe("added", entry, container="landing", account_url=None, datastore="ds", job_prefix="score")
    assert again["uri"] == "azureml://datastores/ds/paths/in/a%20b.csv"
    assert again["job_name"] == record["job_name"]
    newer = describe(
        "modified",
        blob("in/a b.csv", '"0x8D2"'),
        container="landing",
        account_url=None,
        datastore="ds",
        job_prefix="score",
    )
    assert newer["job_name"] != record["job_name"]


@pytest.mark.parametrize(
    ("client_url", "endpoint"),
    [
        (
            "https://acct.blob.core.windows.net/?se=2026-01-01&sp=rl&sig=c2VjcmV0%3D",
            "https://acct.blob.core.windows.net/",
        ),
        ("http://127.0.0.1:10000/devstoreaccount1/?sv=2024&sig=abc#frag", "http://127.0.0.1:10000/devstoreaccount1/"),
        ("https://acct.blob.core.windows.net/", "https://acct.blob.core.windows.net/"),
    ],
)
def test_account_endpoint_drops_the_sas_a_client_url_carries(client_url, endpoint):
    assert account_endpoint(client_url) == endpoint
