"""Durable state of the emulator: plain records in SQLite, no HTTP types.

Everything the emulator knows (ARM resources, long-running operations, jobs with their status history and
logs) lives in ``DIR/state.sqlite`` so that a restart loses nothing. The store is also the *reporter* the
batch engine calls from its worker threads, hence the lock around the single connection, and the job
status state machine below, which keeps a late or duplicate report from moving a finished job.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow_batchml.emulator.errors import Conflict
from airflow_batchml.emulator.scoring.spec import JobStatus as EngineJobStatus

log = logging.getLogger(__name__)


class JobStatus(EngineJobStatus):
    """The engine's job statuses plus ``CancelRequested``, and the moves allowed between them."""

    CANCEL_REQUESTED = "CancelRequested"

    WAITING_STATUSES = frozenset({EngineJobStatus.NOT_STARTED, EngineJobStatus.QUEUED})
    IN_FLIGHT_STATUSES = frozenset({EngineJobStatus.RUNNING, EngineJobStatus.FINALIZING, CANCEL_REQUESTED})
    ALL_STATUSES = EngineJobStatus.TERMINAL_STATUSES | WAITING_STATUSES | IN_FLIGHT_STATUSES

    _ENDS = frozenset({EngineJobStatus.FAILED, EngineJobStatus.CANCELED, CANCEL_REQUESTED})
    TRANSITIONS: dict[str, frozenset[str]] = {
        EngineJobStatus.NOT_STARTED: _ENDS | {EngineJobStatus.QUEUED, EngineJobStatus.RUNNING},
        EngineJobStatus.QUEUED: _ENDS | {EngineJobStatus.RUNNING},
        # Back to Queued only when a restart of the emulator makes a running job start over.
        EngineJobStatus.RUNNING: _ENDS
        | {EngineJobStatus.FINALIZING, EngineJobStatus.COMPLETED, EngineJobStatus.QUEUED},
        EngineJobStatus.FINALIZING: _ENDS | {EngineJobStatus.COMPLETED, EngineJobStatus.QUEUED},
        CANCEL_REQUESTED: frozenset(EngineJobStatus.TERMINAL_STATUSES),
        **{status: frozenset() for status in EngineJobStatus.TERMINAL_STATUSES},
    }


def utc_now() -> str:
    """Timestamps as ARM writes them (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat()


@dataclass
class Resource:
    """One ARM resource: ``kind`` (e.g. ``batchEndpoints``) and its path relative to the workspace."""

    kind: str
    path: str
    body: dict[str, Any]
    created_at: str
    updated_at: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class JobRecord:
    """A batch scoring job: what was asked (``request``), how it runs (``spec``) and what happened."""

    name: str
    endpoint: str
    deployment: str
    experiment: str
    spec: dict[str, Any]
    request: dict[str, Any]
    status: str = JobStatus.NOT_STARTED
    history: list[dict[str, str]] = field(default_factory=list)
    progress: dict[str, int] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    log: str = ""
    created_at: str = field(default_factory=utc_now)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, path TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (kind, path));
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY, endpoint TEXT NOT NULL, deployment TEXT NOT NULL, experiment TEXT NOT NULL,
    spec TEXT NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL, history TEXT NOT NULL,
    progress TEXT NOT NULL, error TEXT, log TEXT NOT NULL, created_at TEXT NOT NULL);
"""
_JOB_COLUMNS = (
    "name, endpoint, deployment, experiment, spec, request, status, history, progress, error, log, created_at"
)
_JSON_JOB_FIELDS = ("spec", "request", "history", "progress", "error")


class StateStore:
    """SQLite-backed store of resources and jobs; safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- resources -------------------------------------------------------------------------------

    def get(self, kind: str, path: str) -> Resource | None:
        with self._lock:
            row = self._db.execute(
                "SELECT kind, path, body, created_at, updated_at FROM resources WHERE kind=? AND path=?",
                (kind, path),
            ).fetchone()
        return _resource(row) if row else None

    def put(self, kind: str, path: str, body: dict[str, Any]) -> tuple[Resource, bool]:
        """Create or replace; returns the record and whether it was created."""
        now = utc_now()
        with self._lock:
            existing = self.get(kind, path)
            created_at = existing.created_at if existing else now
            self._db.execute(
                "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?)",
                (kind, path, json.dumps(body), created_at, now),
            )
        return Resource(kind, path, body, created_at, now), existing is None

    def delete(self, kind: str, path: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM resources WHERE kind=? AND path=?", (kind, path))
        return cursor.rowcount > 0

    def list(self, kind: str, prefix: str = "") -> list[Resource]:
        """Resources of a kind whose path starts with ``prefix``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, path, body, created_at, updated_at FROM resources "
                "WHERE kind=? AND substr(path, 1, ?)=? ORDER BY created_at, path",
                (kind, len(prefix), prefix),
            ).fetchall()
        return [_resource(row) for row in rows]

    # --- jobs ------------------------------------------------------------------------------------

    def add_job(self, job: JobRecord) -> tuple[JobRecord, bool]:
        """Insert a job unless one with that name exists; idempotent submissions rely on this.

        Returns the stored job and whether it was created. A name taken by a job of another endpoint
        is a conflict, not a match.
        """
        with self._lock:
            existing = self.get_job(job.name)
            if existing:
                if existing.endpoint != job.endpoint:
                    raise Conflict(
                        f"Job {job.name} already exists for batch endpoint {existing.endpoint}.",
                        code="UserError",
                    )
                return existing, False
            job.history = job.history or [{"status": job.status, "time": job.created_at}]
            values = [_job_value(job, column) for column in _JOB_COLUMNS.split(", ")]
            self._db.execute(f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES ({', '.join('?' * 12)})", values)
        return job, True

    def get_job(self, name: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE name=?", (name,)).fetchone()
        return _job(row) if row else None

    def list_jobs(self, endpoint: str | None = None, deployment: str | None = None) -> list[JobRecord]:
        """Jobs, newest first, optionally of one endpoint and deployment."""
        query, args = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE 1=1", []
        if endpoint is not None:
            query, args = query + " AND endpoint=?", [*args, endpoint]
        if deployment is not None:
            query, args = query + " AND deployment=?", [*args, deployment]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at DESC, name", args).fetchall()
        return [_job(row) for row in rows]

    def jobs_with_status(self, statuses: frozenset[str]) -> list[JobRecord]:
        return [job for job in self.list_jobs() if job.status in statuses]

    # --- the engine's reporter interface ---------------------------------------------------------

    def set_status(self, job_name: str, status: str, error: dict | None = None) -> None:
        """Move a job along the state machine; moves it does not allow are ignored (and logged)."""
        if status not in JobStatus.ALL_STATUSES:
            raise ValueError(f"Unknown job status {status!r} for job {job_name}")
        with self._lock:
            job = self.get_job(job_name)
            if job is None or job.status == status:
                return
            if status not in JobStatus.TRANSITIONS[job.status]:
                log.warning("Ignoring status %s for job %s, which is %s", status, job_name, job.status)
                return
            history = [*job.history, {"status": status, "time": utc_now()}]
            self._db.execute(
                "UPDATE jobs SET status=?, history=?, error=? WHERE name=?",
                (status, json.dumps(history), json.dumps(error) if error else None, job_name),
            )
        log.info("Job %s is %s", job_name, status)

    def set_progress(self, job_name: str, done: int, total: int, failed_files: int) -> None:
        progress = {"done": done, "total": total, "failed_files": failed_files}
        with self._lock:
            self._db.execute("UPDATE jobs SET progress=? WHERE name=?", (json.dumps(progress), job_name))

    def append_log(self, job_name: str, text: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET log = log || ? WHERE name=?", (text, job_name))


def _resource(row: tuple) -> Resource:
    kind, path, body, created_at, updated_at = row
    return Resource(kind, path, json.loads(body), created_at, updated_at)


def _job_value(job: JobRecord, column: str) -> Any:
    value = getattr(job, column)
    return json.dumps(value) if column in _JSON_JOB_FIELDS else value


def _job(row: tuple) -> JobRecord:
    values = dict(zip(_JOB_COLUMNS.split(", "), row, strict=True))
    for column in _JSON_JOB_FIELDS:
        values[column] = json.loads(values[column]) if values[column] is not None else None
    return JobRecord(**values)


class EngineReporter:
    """The store as the engine's reporter, detachable so that a shutdown is not recorded as job outcomes.

    On SIGTERM the engine cancels its running jobs; those jobs were not canceled by anyone, so once the
    server starts stopping their reports are dropped, the jobs stay ``Running`` in the store, and the next
    start resumes or fails them with a message that says why.
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._attached = True

    def detach(self) -> None:
        self._attached = False

    def set_status(self, job_name: str, status: str, error: dict | None = None) -> None:
        if self._attached:
            self._store.set_status(job_name, status, error)

    def set_progress(self, job_name: str, done: int, total: int, failed_files: int) -> None:
        if self._attached:
            self._store.set_progress(job_name, done, total, failed_files)

    def append_log(self, job_name: str, text: str) -> None:
        if self._attached:
            self._store.append_log(job_name, text)
