"""Pure planning and accounting for a batch job: mini-batches, worker count, progress and the threshold.

Kept free of processes and I/O so that the rules Azure documents (file-level split, the
``error_threshold`` on failed files, workers capped by cores) are unit-tested on their own.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class MiniBatch:
    """A slice of the job's input files, numbered in input order."""

    index: int
    files: tuple[str, ...]


def list_input_files(root: Path) -> list[Path]:
    """Every file under ``root`` (recursively, sorted), or ``root`` itself when it is a file.

    Azure hands a ``uri_folder`` input to the workers as a mounted folder and takes all files in it, so
    sub-folders count too; sorting makes the split (and the output order) reproducible.
    """
    if root.is_file():
        return [root]
    return sorted(path for path in root.rglob("*") if path.is_file())


def plan_mini_batches(files: Sequence[str | Path], mini_batch_size: int) -> list[MiniBatch]:
    """Split at file level: N files give ceil(N / mini_batch_size) mini-batches, whatever their sizes."""
    count = math.ceil(len(files) / mini_batch_size)
    return [
        MiniBatch(i, tuple(str(f) for f in files[i * mini_batch_size : (i + 1) * mini_batch_size]))
        for i in range(count)
    ]


def effective_workers(requested: int, cpu_count: int | None, cap: int | None = None) -> tuple[int, str | None]:
    """How many worker processes to run, and a warning when fewer than requested.

    On one machine ``instance_count x max_concurrency_per_instance`` processes beyond the core count only
    add contention, so they are capped at the cores (or at the engine's ``cap`` when lower).
    """
    cores = cpu_count or 1
    limit = min(cores, cap) if cap else cores
    if requested <= limit:
        return requested, None
    return limit, (
        f"instance_count x max_concurrency_per_instance asks for {requested} workers; running {limit} "
        f"(this machine has {cores} cores)"
    )


def threshold_exceeded(failed_files: int, error_threshold: int) -> bool:
    """``error_threshold`` counts failed input files; -1 tolerates any number."""
    return error_threshold >= 0 and failed_files > error_threshold


@dataclass(frozen=True)
class JobTally:
    """How a job's mini-batches ended, without their rows: what a summary reports."""

    total: int
    succeeded: int
    failed: int
    failed_files: int


@dataclass
class JobProgress:
    """Thread-safe tally of finished mini-batches, shared by the worker slots of one job.

    Each ``record_*`` returns a snapshot ``(done, total, failed_files)`` taken under the lock, so progress
    reported in that order never goes backwards.
    """

    total: int
    error_threshold: int
    done: int = 0
    failed_files: int = 0
    succeeded: int = 0
    last_error: str | None = None
    results: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_success(self, batch: MiniBatch, text: str) -> tuple[int, int, int]:
        """A mini-batch returned its rows (already rendered as output text)."""
        with self._lock:
            self.done += 1
            self.succeeded += 1
            self.results[batch.index] = text
            return self.done, self.total, self.failed_files

    def record_failure(self, batch: MiniBatch, error: str) -> tuple[int, int, int]:
        """A mini-batch used up its retries: all of its files count as failed."""
        with self._lock:
            self.done += 1
            self.failed_files += len(batch.files)
            self.last_error = error
            return self.done, self.total, self.failed_files

    @property
    def over_threshold(self) -> bool:
        """Whether the failed files so far exceed the job's ``error_threshold``."""
        return threshold_exceeded(self.failed_files, self.error_threshold)

    def tally(self) -> JobTally:
        """Counts so far; mini-batches a stopped job never ran are neither succeeded nor failed."""
        with self._lock:
            return JobTally(self.total, self.succeeded, self.done - self.succeeded, self.failed_files)

    def ordered_results(self) -> Iterable[str]:
        """Rendered rows in mini-batch order, so the output file does not depend on scheduling."""
        return (self.results[index] for index in sorted(self.results))
