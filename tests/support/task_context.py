"""Operator tests run ``execute`` with a real Airflow task context stand-in that records XCom.

The context is the part of Airflow's that the operators read (``ti`` with its identity and
``xcom_push``); everything they call goes to the emulator through the real hooks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest


@dataclass
class RecordingTaskInstance:
    dag_id: str = "tests"
    task_id: str = "score"
    run_id: str = "manual__2026-11-23T00:00:00+00:00"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int) -> Any:
        assert (task_ids, map_indexes) == (self.task_id, self.map_index), "pull this instance's own XCom"
        return self.xcoms.get(key)


class RecordingStateStore:
    """Airflow's ``task_state_store`` for one task instance: kept across its tries, as Airflow keeps it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        assert value is not None
        self.values[key] = value


@pytest.fixture
def context():
    return {"ti": RecordingTaskInstance()}


def run_trigger(trigger) -> list[dict]:
    """Collect the events of the trigger's real async generator (run to its end)."""

    async def collect() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


START = datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)


class FakeTI:
    """The task-instance surface the sensor uses, recording what it asks and pushes."""

    task_id, run_id, map_index, start_date = "wait", "run-2", -1, START

    def __init__(self, previous_run: str | None = None, xcoms: dict | None = None) -> None:
        self.previous_run, self.xcoms, self.pushed, self.asked = previous_run, xcoms or {}, {}, []

    def get_previous_ti(self, state=None, map_index=-1):
        self.asked.append(state)
        return SimpleNamespace(run_id=self.previous_run) if self.previous_run else None

    def xcom_pull(self, task_ids, key, run_id, map_indexes):
        return self.xcoms.get((task_ids, key, run_id))

    def xcom_push(self, key, value):
        self.pushed[key] = value

    def get_first_reschedule_date(self, context):
        return None
