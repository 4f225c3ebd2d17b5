"""Durable state of the emulator: plain records in SQLite, no HTTP types.

Everything the emulator knows (ARM resources, long-running operations, jobs with their status history)
lives in ``DIR/state.sqlite`` so that a restart loses nothing; each job's log is a file of its own under
``DIR/logs/``, so that appending a line costs the same however long the log is and listing jobs never reads
one. The store is also the *reporter* the batch engine calls from its worker threads, hence the lock around
the single connection, and the job status state machine below, which keeps a late or duplicate report from
moving a finished job.

Job requests, errors and logs carry input URLs, so everything is owner-only (files 0600, folders 0700) and
credentials (SAS signatures above all) are masked before they are stored.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow_batchml_emulator.errors import Conflict
from airflow_batchml_emulator.redaction import redact
from airflow_batchml_emulator.scoring.spec import JobStatus as EngineJobStatus
from airflow_batchml_emulator.scoring.spec import is_plain_file_name

log = logging.getLogger(__name__)


class JobStatus(EngineJobStatus):
    """The engine's job statuses plus ``CancelRequested``, and the moves allowed between them."""

    CANCEL_REQUESTED = "CancelRequested"

    # NotStarted and Queued: jobs stored by earlier versions, which started there.
    WAITING_STATUSES = frozenset({EngineJobStatus.PREPARING, EngineJobStatus.NOT_STARTED, EngineJobStatus.QUEUED})
    IN_FLIGHT_STATUSES = frozenset({EngineJobStatus.RUNNING, EngineJobStatus.FINALIZING, CANCEL_REQUESTED})
    ALL_STATUSES = EngineJobStatus.TERMINAL_STATUSES | WAITING_STATUSES | IN_FLIGHT_STATUSES

    _ENDS = frozenset({EngineJobStatus.FAILED, EngineJobStatus.CANCELED, CANCEL_REQUESTED})
    _STARTS = _ENDS | {EngineJobStatus.PREPARING, EngineJobStatus.RUNNING}
    TRANSITIONS: dict[str, frozenset[str]] = {
        EngineJobStatus.PREPARING: _ENDS | {EngineJobStatus.RUNNING},
        EngineJobStatus.NOT_STARTED: _STARTS,
        EngineJobStatus.QUEUED: _STARTS,
        # Back to Preparing only when a restart of the emulator makes a running job start over.
        EngineJobStatus.RUNNING: _ENDS
        | {EngineJobStatus.FINALIZING, EngineJobStatus.COMPLETED, EngineJobStatus.PREPARING},
        EngineJobStatus.FINALIZING: _ENDS | {EngineJobStatus.COMPLETED, EngineJobStatus.PREPARING},
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
    status: str = JobStatus.PREPARING
    history: list[dict[str, str]] = field(default_factory=list)
    progress: dict[str, int] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    created_at: str = field(default_factory=utc_now)
    parent: str = ""  # a pipeline step's job names its pipeline job here


_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, path TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (kind, path));
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY, endpoint TEXT NOT NULL, deployment TEXT NOT NULL, experiment TEXT NOT NULL,
    spec TEXT NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL, history TEXT NOT NULL,
    progress TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL, parent TEXT NOT NULL DEFAULT '');
"""
_JOB_COLUMNS = (
    "name, endpoint, deployment, experiment, spec, request, status, history, progress, error, created_at, parent"
)
_JSON_JOB_FIELDS = ("spec", "request", "history", "progress", "error")


class StateStore:
    """SQLite-backed store of resources and jobs; safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._logs = path.parent / "logs"
        _private_dir(self._logs)
        self._db = _connect_private(path)
        self._db.executescript(_SCHEMA)
        self._move_old_logs()
        self._add_parent_column()

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
            history = job.history or [{"status": job.status, "time": job.created_at}]
            job = replace(job, history=history, request=_redacted(job.request), spec=_stored_spec(job.spec))
            values = [_job_value(job, column) for column in _JOB_COLUMNS.split(", ")]
            self._db.execute(f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values)
        return job, True

    def get_job(self, name: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE name=?", (name,)).fetchone()
        return _job(row) if row else None

    def list_jobs(
        self, endpoint: str | None = None, deployment: str | None = None, parent: str = ""
    ) -> list[JobRecord]:
        """Jobs, newest first, optionally of one endpoint and deployment (records only: logs stay on disk).

        Only top-level jobs, unless ``parent`` names a pipeline job: then its step jobs, oldest first.
        """
        query, args = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE parent=?", [parent]
        if endpoint is not None:
            query, args = query + " AND endpoint=?", [*args, endpoint]
        if deployment is not None:
            query, args = query + " AND deployment=?", [*args, deployment]
        order = " ORDER BY created_at DESC, name" if not parent else " ORDER BY created_at, name"
        with self._lock:
            rows = self._db.execute(query + order, args).fetchall()
        return [_job(row) for row in rows]

    def add_step_job(self, parent: str, name: str, node: str) -> None:
        """File a pipeline step's job under its pipeline job (same endpoint, deployment and experiment)."""
        owner = self.get_job(parent)
        if owner is not None:
            step = JobRecord(
                name=name,
                endpoint=owner.endpoint,
                deployment=owner.deployment,
                experiment=owner.experiment,
                spec={"node": node, "compute": owner.spec.get("compute", "")},
                request={"name": node},
                parent=parent,
            )
            self.add_job(step)

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
                (status, json.dumps(history), json.dumps(_redacted(error)) if error else None, job_name),
            )
        log.info("Job %s is %s", job_name, status)

    def set_progress(self, job_name: str, done: int, total: int, failed_files: int) -> None:
        progress = {"done": done, "total": total, "failed_files": failed_files}
        with self._lock:
            self._db.execute("UPDATE jobs SET progress=? WHERE name=?", (json.dumps(progress), job_name))

    def append_log(self, job_name: str, text: str) -> None:
        """Append to the job's log file (credentials masked); the caller bounds what it appends."""
        path = self._log_path(job_name)
        with self._lock:
            if not path.parent.is_dir():
                _private_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8", errors="replace") as handle:
                handle.write(redact(text))

    def read_log(self, job_name: str) -> str:
        """A job's log; empty until something is logged."""
        try:
            return self._log_path(job_name).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _log_path(self, job_name: str) -> Path:
        """``logs/<job>/std_log.txt``, as Azure names a job's user log; a name may not leave ``logs/``."""
        if not is_plain_file_name(job_name):
            raise ValueError(f"Job name {job_name!r} cannot name a log folder")
        return self._logs / job_name / "std_log.txt"

    def _move_old_logs(self) -> None:
        """State written before logs were files keeps them in a ``log`` column: move them out and drop it."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "log" not in columns:
            return
        for name, text in self._db.execute("SELECT name, log FROM jobs WHERE log != ''"):
            self.append_log(name, text)
        self._db.execute("ALTER TABLE jobs DROP COLUMN log")
        self._db.execute("VACUUM")  # the old logs' pages held unmasked URLs

    def _add_parent_column(self) -> None:
        """State written before pipeline jobs has no ``parent`` column: every job there is top-level."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "parent" not in columns:
            self._db.execute("ALTER TABLE jobs ADD COLUMN parent TEXT NOT NULL DEFAULT ''")


def _connect_private(path: Path) -> sqlite3.Connection:
    """Open the database in WAL mode, owner-only with its -wal and -shm files (older state dirs had 0644)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")  # SQLite creates -wal and -shm with the database file's mode
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        if file.exists():
            file.chmod(0o600)
    return db


def _private_dir(path: Path) -> None:
    """Create ``path`` owner-only, or make an existing one so."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _redacted(value: Any) -> Any:
    """``value`` with credentials masked in every string inside it (dicts and lists walked)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def _stored_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its URLs masked; only the storage path of a URL is used, never its SAS query.

    The environment variables are kept as given: the scoring script reads them, as in Azure.
    """
    stored = _redacted(spec)
    if "environment_variables" in spec:
        stored["environment_variables"] = spec["environment_variables"]
    return stored


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

    def add_step_job(self, parent: str, name: str, node: str) -> None:
        if self._attached:
            self._store.add_step_job(parent, name, node)

    def step_jobs(self, parent: str) -> dict[str, tuple[str, str]]:
        return {job.request.get("name", ""): (job.name, job.status) for job in self._store.list_jobs(parent=parent)}
