"""The fault matrix's ledger: every scenario records a measured row, and the run ends with the table.

Columns: the fault, whether the task recovered (reached the outcome its scenario defines: succeeded, or
failed as intended and then succeeded on retry), Azure ML jobs created for the logical submission, blob
changes lost and inputs scored more than once (see ``measure.py``). A scenario that breaks still records
its row, ``NO`` and whatever could be measured; ``?`` marks a figure that could not be.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from tests.integration.conftest import azurite, emulator  # noqa: F401  (shared fixtures)
from tests.integration.hooks.conftest import airflow_connections, hook, wasb  # noqa: F401
from tests.integration.operators.conftest import context  # noqa: F401
from tests.reliability.measure import FaultOutcome

LEDGER: list[FaultOutcome] = []


@pytest.fixture
def ledger() -> list[FaultOutcome]:
    return LEDGER


def _figure(values: Iterable[int | None], each: bool = False) -> str:
    values = list(values)
    if any(value is None for value in values):
        return "?"
    if each and len(values) > 1 and len(set(values)) == 1 and values[0]:
        return f"{values[0]} each"
    return str(sum(values))  # type: ignore[arg-type]


def table_rows(ledger: list[FaultOutcome]) -> list[tuple[str, ...]]:
    """One row per scenario, or per group of scenarios (recovered as ``n/m``), in the order they ran."""
    groups: dict[str, list[FaultOutcome]] = {}
    for row in ledger:
        groups.setdefault(row.group or row.fault, []).append(row)
    rows = []
    for label, members in groups.items():
        recovered = sum(member.recovered for member in members)
        if len(members) > 1:
            label, shown = f"{label} ({len(members)} cases)", f"{recovered}/{len(members)}"
        else:
            shown = "yes" if recovered else "NO"
        rows.append(
            (
                label,
                shown,
                _figure((m.jobs_created for m in members), each=True),
                _figure(m.changes_lost for m in members),
                _figure(m.duplicates for m in members),
            )
        )
    return rows


def pytest_terminal_summary(terminalreporter) -> None:
    if not LEDGER:
        return
    header = ("fault", "recovered", "jobs created", "changes lost", "duplicates")
    rows = table_rows(LEDGER)
    width = max(len(row[0]) for row in [header, *rows])
    write = terminalreporter.write_line
    write("")
    write("Fault matrix")
    write(f"| {header[0]:<{width}} | " + " | ".join(header[1:]) + " |")
    write(f"|{'-' * (width + 2)}|" + "|".join("-" * (len(name) + 2) for name in header[1:]) + "|")
    for row in rows:
        cells = [f"{row[1]:<9}", *(f"{cell:>{len(name)}}" for cell, name in zip(row[2:], header[2:], strict=True))]
        write(f"| {row[0]:<{width}} | " + " | ".join(cells) + " |")
    write("")  # a Markdown table ends at a blank line
    write(
        f"Faults tried: {len(LEDGER)}, tasks recovered: {sum(row.recovered for row in LEDGER)}, "
        f"changes lost: {_figure(r.changes_lost for r in LEDGER)}, duplicates: {_figure(r.duplicates for r in LEDGER)}."
    )
