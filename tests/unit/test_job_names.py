"""Deterministic job names: stable, within Azure ML's job-name rules, and distinct for distinct submissions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_batchml.job_names import HASH_LENGTH, PREFIX_LENGTH, change_job_name, deterministic_job_name, task_job_name
from airflow_batchml.names import check_name

RUN_ID = "manual__2026-01-01T00:00:00+00:00"


def test_a_name_is_the_readable_prefix_then_a_hash_of_the_identity():
    assert deterministic_job_name("score", 1) == "score-080a9ed428559ef6"


def test_the_hash_is_stable_across_releases():
    """A job submitted before an upgrade must be found again after it: the hash must not change."""
    assert task_job_name("dag", "score", "r", -1, {"in": "x"}) == "dag-score-16de7b7fa3d20bc3"


@pytest.mark.parametrize(
    ("prefix", "readable"),
    [
        ("Score Daily!", "score-daily"),
        ("dag.with spaces", "dag-with-spaces"),
        ("--score__", "score"),
        ("__x__", "x"),
        ("日本-score", "score"),
        ("", "job"),
        ("***", "job"),
    ],
)
def test_the_prefix_is_lower_cased_and_reduced_to_safe_characters(prefix, readable):
    name = deterministic_job_name(prefix, "same")
    assert name[: -HASH_LENGTH - 1] == readable
    assert check_name("job", name) == name


def test_a_long_prefix_is_cut_so_the_name_stays_within_65_characters():
    name = deterministic_job_name("a" * 200, 1)
    assert len(name) == PREFIX_LENGTH + 1 + HASH_LENGTH == 65
    assert name.startswith("a" * PREFIX_LENGTH + "-")


def test_a_cut_prefix_does_not_end_in_a_separator():
    assert deterministic_job_name("a" * 47 + "-b", 1) == "a" * 47 + "-080a9ed428559ef6"


def test_mapping_key_order_does_not_change_the_name():
    assert deterministic_job_name("p", {"a": 1, "b": 2}) == deterministic_job_name("p", {"b": 2, "a": 1})


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("ab", "c"), ("a", "bc")),
        ((1,), ("1",)),
        (([1, 2],), ([2, 1],)),
        ((None,), ("None",)),
    ],
)
def test_identities_that_differ_only_in_their_boundaries_or_types_get_distinct_names(one, other):
    assert deterministic_job_name("p", *one) != deterministic_job_name("p", *other)


def test_values_json_cannot_write_are_hashed_by_their_text():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert deterministic_job_name("p", at) == deterministic_job_name("p", str(at))


def test_task_names_differ_by_dag_task_run_map_index_and_inputs():
    base = ("dag", "score", RUN_ID, -1, {"in": "x"})
    name = task_job_name(*base)
    for position, other in enumerate(["dag2", "score2", RUN_ID + "x", 0, {"in": "y"}]):
        changed = list(base)
        changed[position] = other
        assert task_job_name(*changed) != name, f"argument {position} is not part of the identity"


def test_task_names_start_with_the_dag_and_task():
    assert task_job_name("Nightly", "Score", RUN_ID, -1, None).startswith("nightly-score-")


def test_change_names_differ_by_container_blob_and_etag():
    name = change_job_name("score", "landing", "in/a.png", '"0x8D1"')
    assert name.startswith("score-")
    assert change_job_name("score", "landing", "in/b.png", '"0x8D1"') != name
    assert change_job_name("score", "archive", "in/a.png", '"0x8D1"') != name


def test_job_names_are_deterministic_valid_and_distinct():
    a = task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", -1, {"in": "x"})
    assert a == task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", -1, {"in": "x"})
    assert a != task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", 0, {"in": "x"})
    assert a != task_job_name("dag.with spaces", "score", "manual__2026-01-01T00:00:00+00:00", -1, {"in": "y"})
    assert check_name("job", a) == a
    blob = change_job_name("score", "landing", "in/a.png", '"0x8D1"')
    assert blob == change_job_name("score", "landing", "in/a.png", '"0x8D1"')
    assert blob != change_job_name("score", "landing", "in/a.png", '"0x8D2"')
    assert check_name("job", change_job_name("-" * 80, "c", "b", "e"))
