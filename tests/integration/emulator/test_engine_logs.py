"""The job log under load: the batch engine reporting into the real state store, with chatty scoring scripts.

Tests wait on the store's job status under a deadline; they never assert on wall-clock time. The deadline
is longer than the default ``run()`` timeout, so a log that cannot keep up shows as a failed job.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_batchml_emulator.engine import BatchEngine, BatchJobSpec, JobStatus
from airflow_batchml_emulator.scoring.joblog import MAX_LINE_CHARS, SCRIPT_OUTPUT_LIMIT, TRUNCATED_NOTE
from airflow_batchml_emulator.state import JobRecord, StateStore
from tests.integration.emulator.engine_support import make_spec, write_code, write_inputs

DEADLINE = 90
ENGINE_LINES = 10_000  # room for the engine's own few lines next to the capped script output


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """The server's state dir, which exists before the store opens."""
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def store(state_dir: Path):
    store = StateStore(state_dir / "state.sqlite")
    yield store
    store.close()


@pytest.fixture
def engine(store: StateStore, tmp_path: Path):
    engine = BatchEngine(store, "UseDevelopmentStorage=true", {}, tmp_path / "work")
    yield engine
    engine.shutdown()


def run_to_the_end(store: StateStore, engine: BatchEngine, spec: BatchJobSpec) -> JobRecord:
    """Add the job to the store as the server does, run it, and poll the store until it ends."""
    record = JobRecord(name=spec.name, endpoint="e", deployment="d", experiment="x", spec=spec.to_dict(), request={})
    store.add_job(record)
    engine.submit(spec)
    deadline = time.monotonic() + DEADLINE
    while (job := store.get_job(spec.name)).status not in JobStatus.TERMINAL_STATUSES:
        assert time.monotonic() < deadline, f"job {spec.name} is still {job.status}"
        time.sleep(0.05)
    return job


CHATTY = """
def init():
    pass
def run(mini_batch):
    for i in range(20_000):
        print(f"line {i:05d} " + "x" * 240)
    return mini_batch
"""


def test_twenty_thousand_lines_printed_at_once_complete_the_job_with_the_log_capped(store, engine, state_dir, tmp_path):
    spec = make_spec(tmp_path, write_code(tmp_path, CHATTY), write_inputs(tmp_path, ["a"]))

    job = run_to_the_end(store, engine, spec)

    assert job.status == JobStatus.COMPLETED, job.error
    log = store.read_log(spec.name)
    assert "line 00000 " in log
    assert "line 19999 " not in log
    assert log.count(TRUNCATED_NOTE) == 1
    assert "1 of 1 mini-batch(es) succeeded" in log.split(TRUNCATED_NOTE)[1]  # the engine's lines are kept
    assert len(log) <= SCRIPT_OUTPUT_LIMIT + ENGINE_LINES
    assert sum(path.stat().st_size for path in state_dir.glob("state.sqlite*")) < 1_000_000


LONG_LINE = """
import sys
def init():
    pass
def run(mini_batch):
    sys.stdout.write("y" * 50_000_000 + "\\n")
    print("after the long line", flush=True)
    return mini_batch
"""


def test_a_fifty_megabyte_line_is_cut_and_the_job_completes(store, engine, tmp_path):
    spec = make_spec(tmp_path, write_code(tmp_path, LONG_LINE), write_inputs(tmp_path, ["a"]))

    job = run_to_the_end(store, engine, spec)

    assert job.status == JobStatus.COMPLETED, job.error
    log = store.read_log(spec.name)
    assert len(log) <= MAX_LINE_CHARS + ENGINE_LINES
    assert f"[... {50_000_000 - MAX_LINE_CHARS:,} more characters of this line dropped]" in log
    assert "[worker 0] after the long line" in log
