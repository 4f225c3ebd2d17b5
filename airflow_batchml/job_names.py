"""Deterministic Azure ML job names: the same logical submission always gets the same name.

Airflow runs a task at least once and a change trigger delivers an event at least once; the job name is
what turns a second submission into an attach (the hook looks the name up first, and Azure ML refuses a
second job of the same name). A name is a readable prefix plus a hash of everything that identifies the
submission, kept within Azure ML's job-name rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

_UNSAFE = re.compile(r"[^a-z0-9_-]+")
PREFIX_LENGTH = 48
HASH_LENGTH = 16


def deterministic_job_name(prefix: str, *identity: Any) -> str:
    """``<sanitised prefix>-<hash of identity>``, at most 65 characters, valid as an Azure ML job name."""
    readable = _UNSAFE.sub("-", prefix.lower()).strip("-_")[:PREFIX_LENGTH].strip("-_") or "job"
    if not readable[0].isalnum():
        readable = "j" + readable
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    return f"{readable}-{digest[:HASH_LENGTH]}"


def task_job_name(dag_id: str, task_id: str, run_id: str, map_index: int, what: Any) -> str:
    """The job name of one task try-independent submission: dag, task, run, map index and its inputs."""
    return deterministic_job_name(f"{dag_id}-{task_id}", dag_id, task_id, run_id, map_index, what)


def change_job_name(prefix: str, container: str, blob_name: str, etag: str) -> str:
    """The job name for scoring one blob version: the same (blob, etag) always maps to the same job."""
    return deterministic_job_name(prefix, container, blob_name, etag)
