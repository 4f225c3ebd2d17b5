"""Fault injection: make chosen requests, long-running operations or jobs fail, on purpose.

Tests of retries and error handling need Azure's bad days on demand: throttling (429 + Retry-After),
transient 500/503, a create that ends in ``QuotaExceeded``, a job that fails. Rules are armed through the
``/_emulator/faults`` admin route, are consumed as they fire, and live in memory only (a restart clears
them, like a fresh Azure day).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from airflow_batchml_emulator.errors import BadRequest

HTTP_FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})
_HTTP_CODES = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}


@dataclass
class HttpFault:
    """The next ``times`` requests matching ``method`` and ``path_regex`` get ``status``."""

    path_regex: str
    status: int
    times: int = 1
    method: str | None = None
    retry_after: int | None = None
    # True: the request is carried out and only its answer is replaced (a reply lost on the way back).
    after: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method.upper()) and bool(re.search(self.path_regex, path))

    def error_code(self) -> str:
        return _HTTP_CODES.get(self.status, "ServiceError")


@dataclass
class LroFault:
    """The next ``times`` long-running creates of ``kind`` end with LRO status Failed and this error."""

    kind: str
    code: str = "QuotaExceeded"
    message: str = "Quota exceeded for the requested resource (injected fault)."
    times: int = 1


@dataclass
class JobFault:
    """The job named ``job`` (or the next job created, for ``"next"``) fails with ``message``."""

    job: str
    message: str = "Job failed (injected fault)."
    code: str = "UserError"


class FaultInjector:
    """Armed fault rules; every ``take_*`` consumes a matching rule, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._http: list[HttpFault] = []
        self._lro: list[LroFault] = []
        self._jobs: list[JobFault] = []

    def add(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Arm a rule from its JSON form; returns what was armed (the kind and its fields)."""
        if not isinstance(rule, dict):
            raise BadRequest("The fault rule must be a JSON object.")
        parsed = _parse_rule(rule)
        with self._lock:
            target = {HttpFault: self._http, LroFault: self._lro, JobFault: self._jobs}[type(parsed)]
            target.append(parsed)
        return {"type": type(parsed).__name__, **vars(parsed)}

    def clear(self) -> None:
        with self._lock:
            self._http.clear()
            self._lro.clear()
            self._jobs.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            rules = [*self._http, *self._lro, *self._jobs]
            return [{"type": type(rule).__name__, **vars(rule)} for rule in rules]

    def take_http(self, method: str, path: str) -> HttpFault | None:
        with self._lock:
            return _consume(self._http, lambda rule: rule.matches(method, path))

    def take_lro(self, kind: str) -> LroFault | None:
        with self._lock:
            return _consume(self._lro, lambda rule: rule.kind in (kind, "*"))

    def take_job(self, job_name: str) -> JobFault | None:
        with self._lock:
            found = next((rule for rule in self._jobs if rule.job in (job_name, "next")), None)
            if found:
                self._jobs.remove(found)
            return found


def _consume(rules: list, predicate: Any) -> Any:
    for rule in rules:
        if predicate(rule):
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule
    return None


def _parse_rule(rule: dict[str, Any]) -> HttpFault | LroFault | JobFault:
    """Tell the rule kind by its key: ``fail_job``, ``fail_lro`` or ``path_regex``."""
    try:
        if "fail_job" in rule:
            return JobFault(job=str(rule["fail_job"]), **_pick(rule, "message", "code"))
        if "fail_lro" in rule:
            return LroFault(kind=str(rule["fail_lro"]), **_pick(rule, "code", "message", "times"))
        if "path_regex" not in rule or "status" not in rule:
            raise BadRequest("A fault rule needs fail_job, fail_lro, or path_regex and status.")
        fault = HttpFault(**_pick(rule, "path_regex", "status", "times", "method", "retry_after", "after"))
        re.compile(fault.path_regex)
    except (TypeError, re.error) as err:
        raise BadRequest(f"Invalid fault rule: {err}") from err
    if fault.status not in HTTP_FAULT_STATUSES:
        raise BadRequest(f"status must be one of {sorted(HTTP_FAULT_STATUSES)}, got {fault.status}.")
    return fault


def _pick(rule: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: rule[key] for key in keys if rule.get(key) is not None}
