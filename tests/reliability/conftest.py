"""The fault matrix's ledger: every scenario records what it did, and the run ends with a summary table.

Columns: the fault, whether the task recovered (succeeded, or failed as intended and then succeeded on
retry), Azure ML jobs created for the logical submission, blob changes lost, and inputs scored twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.integration.conftest import azurite, emulator  # noqa: F401  (shared fixtures)
from tests.integration.hooks.conftest import airflow_connections, hook, wasb  # noqa: F401
from tests.integration.operators.conftest import context  # noqa: F401


@dataclass
class FaultOutcome:
    fault: str
    recovered: bool
    jobs_created: int
    changes_lost: int = 0
    duplicates: int = 0


LEDGER: list[FaultOutcome] = []


@pytest.fixture
def ledger() -> list[FaultOutcome]:
    return LEDGER


def pytest_terminal_summary(terminalreporter) -> None:
    if not LEDGER:
        return
    write = terminalreporter.write_line
    write("")
    write("Fault matrix")
    write(f"| {'fault':<58} | recovered | jobs created | changes lost | duplicates |")
    write(f"|{'-' * 60}|-----------|--------------|--------------|------------|")
    for row in LEDGER:
        write(
            f"| {row.fault:<58} | {'yes' if row.recovered else 'NO':<9} | {row.jobs_created:>12} |"
            f" {row.changes_lost:>12} | {row.duplicates:>10} |"
        )
    recovered = sum(row.recovered for row in LEDGER)
    write(
        f"faults tried: {len(LEDGER)}, tasks recovered: {recovered}, "
        f"changes lost: {sum(r.changes_lost for r in LEDGER)}, duplicates: {sum(r.duplicates for r in LEDGER)}"
    )
