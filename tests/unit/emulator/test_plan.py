"""Mini-batch planning, worker capping and error-threshold accounting of the batch engine."""

from __future__ import annotations

import pytest

from airflow_batchml_emulator.scoring.plan import (
    JobProgress,
    MiniBatch,
    effective_workers,
    list_input_files,
    plan_mini_batches,
    threshold_exceeded,
)


@pytest.mark.parametrize(
    ("files", "size", "expected_sizes"),
    [(10, 3, [3, 3, 3, 1]), (9, 3, [3, 3, 3]), (1, 10, [1]), (0, 5, []), (5, 1, [1, 1, 1, 1, 1])],
)
def test_split_is_by_file_count(files, size, expected_sizes):
    batches = plan_mini_batches([f"f{i}" for i in range(files)], size)

    assert [len(batch.files) for batch in batches] == expected_sizes
    assert [batch.index for batch in batches] == list(range(len(expected_sizes)))
    assert [f for batch in batches for f in batch.files] == [f"f{i}" for i in range(files)]


def test_input_files_are_listed_recursively_and_sorted(tmp_path):
    for name in ("b.csv", "a.csv", "sub/c.csv", "sub/deeper/d.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")

    listed = [path.relative_to(tmp_path).as_posix() for path in list_input_files(tmp_path)]

    assert listed == ["a.csv", "b.csv", "sub/c.csv", "sub/deeper/d.csv"]


def test_a_file_input_is_one_file(tmp_path):
    (tmp_path / "one.csv").write_text("x")

    assert list_input_files(tmp_path / "one.csv") == [tmp_path / "one.csv"]


@pytest.mark.parametrize(
    ("requested", "cores", "cap", "expected", "warns"),
    [(2, 2, None, 2, False), (6, 2, None, 2, True), (4, 8, 3, 3, True), (1, None, None, 1, False)],
)
def test_workers_are_capped_by_cores_and_engine_cap(requested, cores, cap, expected, warns):
    workers, warning = effective_workers(requested, cores, cap)

    assert workers == expected
    assert (warning is not None) == warns
    if warns:
        assert str(requested) in warning


@pytest.mark.parametrize(
    ("failed", "threshold", "exceeded"), [(0, -1, False), (100, -1, False), (1, 1, False), (2, 1, True), (1, 0, True)]
)
def test_threshold_counts_failed_files(failed, threshold, exceeded):
    assert threshold_exceeded(failed, threshold) is exceeded


def test_progress_counts_files_of_failed_batches_and_orders_results():
    progress = JobProgress(total=3, error_threshold=2)

    assert progress.record_success(MiniBatch(2, ("e",)), "row e\n") == (1, 3, 0)
    assert progress.record_failure(MiniBatch(1, ("c", "d")), "boom") == (2, 3, 2)
    assert not progress.over_threshold
    assert progress.record_success(MiniBatch(0, ("a", "b")), "row a\nrow b\n") == (3, 3, 2)

    assert list(progress.ordered_results()) == ["row a\nrow b\n", "row e\n"]
    assert progress.last_error == "boom"
    assert progress.succeeded == 2


def test_progress_over_threshold():
    progress = JobProgress(total=2, error_threshold=0)
    progress.record_failure(MiniBatch(0, ("a",)), "bad")

    assert progress.over_threshold
