"""Helpers for tests of the batch engine: an in-memory reporter, and scoring code, inputs and specs on disk."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

from airflow_batchml_emulator.engine import BatchJobSpec, JobStatus

DEADLINE = 30


class Recorder:
    """Collects what the engine reports for one job and lets a test wait for it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.statuses: list[str] = []
        self.by_job: dict[str, list[str]] = {}
        self.error: dict | None = None
        self.progress: list[tuple[int, int, int]] = []
        self._log: list[str] = []

    def set_status(self, job_name: str, status: str, error: dict | None = None) -> None:
        with self._cond:
            self.statuses.append(status)
            self.by_job.setdefault(job_name, []).append(status)
            self.error = error
            self._cond.notify_all()

    def set_progress(self, job_name: str, done: int, total: int, failed_files: int) -> None:
        with self._cond:
            self.progress.append((done, total, failed_files))

    def append_log(self, job_name: str, text: str) -> None:
        with self._cond:
            self._log.append(text)
            self._cond.notify_all()

    @property
    def log(self) -> str:
        with self._cond:
            return "".join(self._log)

    def wait_until(self, predicate, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=DEADLINE):
                raise AssertionError(f"gave up waiting for {what}; statuses {self.statuses}, log:\n{self.log}")

    def wait_terminal(self) -> str:
        self.wait_until(lambda: self.statuses and self.statuses[-1] in JobStatus.TERMINAL_STATUSES, "the end")
        return self.statuses[-1]


def write_code(tmp_path: Path, source: str, name: str = "score.py") -> Path:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / name).write_text(textwrap.dedent(source))
    return code


def write_inputs(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text(name)
    return folder


def make_spec(tmp_path: Path, code: Path, inputs: Path, **settings) -> BatchJobSpec:
    values = {
        "name": "job-1",
        "code_uri": str(code),
        "scoring_script": "score.py",
        "inputs": [{"type": "uri_folder", "uri": str(inputs)}],
        "output_uri": str(tmp_path / "out") + "/",
        "mini_batch_size": 1,
        "max_retries": 0,
        **settings,
    }
    return BatchJobSpec(**values)
