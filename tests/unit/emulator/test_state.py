"""The state store's files: logs kept out of the database, owner-only modes, no credentials at rest."""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import asdict
from pathlib import Path

import pytest

from airflow_batchml.redaction import redact
from airflow_batchml_emulator.state import JobRecord, JobStatus, StateStore

SAS_URL = "https://account.blob.core.windows.net/data/inputs/?sv=2024-11-04&sr=c&sig=SECRET%2Bsignature%3D"


def _job(name: str = "job-1", uri: str = "azureml://datastores/workspaceblobstore/paths/inputs/") -> JobRecord:
    spec = {"inputs": [{"type": "uri_folder", "uri": uri}], "environment_variables": {"TOKEN_URL": "a?sig=KEEP"}}
    request = {"inputData": {"digits": {"jobInputType": "UriFolder", "uri": uri}}}
    return JobRecord(name=name, endpoint="e", deployment="d", experiment="x", spec=spec, request=request)


@pytest.fixture
def store(tmp_path: Path):
    store = StateStore(tmp_path / "state.sqlite")
    yield store
    store.close()


@pytest.fixture
def usual_umask():
    """The umask most machines run with, under which files are world-readable unless made otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    return {path.relative_to(root).as_posix(): stat.S_IMODE(path.stat().st_mode) for path in root.rglob("*")}


def test_logs_are_files_and_listing_jobs_reads_none(store, tmp_path):
    store.add_job(_job())

    store.append_log("job-1", "first line\n")
    store.append_log("job-1", "second line\n")

    assert store.read_log("job-1") == "first line\nsecond line\n"
    assert store.read_log("job-2") == ""
    (listed,) = store.list_jobs()
    assert "log" not in asdict(listed)
    assert not any(b"first line" in path.read_bytes() for path in tmp_path.glob("state.sqlite*"))


def test_a_job_name_cannot_lead_its_log_out_of_the_log_folder(store):
    with pytest.raises(ValueError, match="cannot name a log folder"):
        store.append_log("../escaped", "text\n")


def test_state_files_are_owner_only(usual_umask, tmp_path):
    (tmp_path / "state.sqlite").touch(mode=0o644)  # as an older emulator left it
    store = StateStore(tmp_path / "state.sqlite")
    store.add_job(_job())
    store.append_log("job-1", "line\n")

    assert _modes(tmp_path) == {
        "state.sqlite": 0o600,
        "state.sqlite-wal": 0o600,
        "state.sqlite-shm": 0o600,
        "logs": 0o700,
        "logs/job-1": 0o700,
        "logs/job-1/std_log.txt": 0o600,
    }
    store.close()


def test_sas_signatures_are_masked_before_they_are_stored(store, tmp_path):
    stored, _ = store.add_job(_job(uri=SAS_URL))
    store.set_status("job-1", JobStatus.FAILED, {"code": "StorageError", "message": f"reading {SAS_URL} failed"})
    store.append_log("job-1", f"reading {SAS_URL}\n")

    job = store.get_job("job-1")
    assert (job.spec, job.request) == (stored.spec, stored.request)  # the caller gets what was stored
    assert job.spec["inputs"][0]["uri"].endswith("&sig=***")
    assert job.spec["environment_variables"] == {"TOKEN_URL": "a?sig=KEEP"}  # the script is handed them as given
    assert "sig=***" in job.request["inputData"]["digits"]["uri"]
    assert "sig=***" in job.error["message"]
    assert "sig=***" in store.read_log("job-1")
    assert [path.name for path in tmp_path.rglob("*") if path.is_file() and b"SECRET" in path.read_bytes()] == []


def test_logs_of_an_older_state_dir_move_out_of_the_database(tmp_path):
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE jobs (name TEXT PRIMARY KEY, endpoint TEXT NOT NULL, deployment TEXT NOT NULL, "
            "experiment TEXT NOT NULL, spec TEXT NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL, "
            "history TEXT NOT NULL, progress TEXT NOT NULL, error TEXT, log TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO jobs VALUES ('old', 'e', 'd', 'x', '{}', '{}', 'Completed', '[]', '{}', NULL, ?, 't')",
            (f"old line {SAS_URL}\n",),
        )
    db.close()

    store = StateStore(path)
    store.add_job(_job("new"))

    assert store.read_log("old") == f"old line {redact(SAS_URL)}\n"
    assert {job.name for job in store.list_jobs()} == {"old", "new"}
    store.close()
    assert not any(b"SECRET" in file.read_bytes() for file in tmp_path.rglob("*") if file.is_file())
