"""Test-admin routes under ``/_emulator/``: fault rules and a raw view of all jobs. Not part of Azure."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_batchml_emulator.handlers.common import JsonBody, arm_json, ctx_of


def add_fault(request: Request, body: JsonBody = None) -> JSONResponse:
    return arm_json(ctx_of(request).faults.add(body), 201)


def list_faults(request: Request) -> JSONResponse:
    return arm_json({"value": ctx_of(request).faults.describe()})


def clear_faults(request: Request) -> Response:
    ctx_of(request).faults.clear()
    return Response(status_code=204)


def list_all_jobs(request: Request) -> JSONResponse:
    """Every job record as stored (spec, status history, progress, error), newest first; logs are not read."""
    jobs = [asdict(job) for job in ctx_of(request).store.list_jobs()]
    return arm_json({"count": len(jobs), "value": jobs})


def health(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    return arm_json({"status": "ok", "workspace": ctx.workspace_id, "url": ctx.base_url})
