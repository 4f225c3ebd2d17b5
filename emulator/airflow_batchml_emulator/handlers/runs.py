"""Run history's view of jobs: one run, and the step runs of a pipeline job (``jobs.list(parent_job_name=...)``).

azure-ai-ml 1.35 lists a job's children with ``GET /history/v1.0{ws}/runs/{run}/children`` and, since
"child jobs are no longer available through MFE" (its ``jobs.get``), reads a step job through
``GET /history/v1.0{ws}/runs/{run}`` once the jobs GET answers it with ``properties: null``. Fields are those
of run history's ``Run`` model that the SDK reads: ``runId``, ``displayName`` (the step's node name),
``status``, ``experimentId``, times, ``compute.target``, ``parentRunId``, ``error``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_batchml_emulator.handlers.common import arm_json, ctx_of, page
from airflow_batchml_emulator.handlers.jobs import require_job, run_summary
from airflow_batchml_emulator.state import JobRecord


def get_run(request: Request, name: str) -> JSONResponse:
    return arm_json(run_body(require_job(ctx_of(request), name)))


def list_run_children(request: Request, name: str) -> JSONResponse:
    ctx = ctx_of(request)
    require_job(ctx, name)
    return arm_json(page([run_body(job) for job in ctx.store.list_jobs(parent=name)]))


def run_body(job: JobRecord) -> dict[str, Any]:
    body = run_summary(job)
    body.pop("experimentName", None)
    return {
        **body,
        "displayName": job.request.get("name") or job.name,
        "parentRunId": job.parent or None,
        "rootRunId": job.parent or job.name,
        "experimentId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"experiment:{job.experiment}")),
        "compute": {"target": job.spec.get("compute") or None},
        "target": job.spec.get("compute") or None,
        "properties": {},
        "tags": {},
    }
