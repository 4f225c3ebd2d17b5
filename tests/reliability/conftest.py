"""The fault matrix's ledger: every scenario records a measured row, and the run ends with the table.

Columns: the fault, the naming mode it ran in (``service-names``: the emulator names batch jobs itself, as
Azure ML does; ``requested-names``: it keeps the names asked for; the exactly-once scenarios run in both),
whether the task recovered (reached the outcome its scenario defines: succeeded, or
failed as intended and then succeeded on retry), Azure ML jobs created for the logical submission, blob
changes lost and inputs scored more than once (see ``measure.py``). A scenario that breaks still records
its row, ``NO`` and whatever could be measured; ``?`` marks a figure that could not be.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

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
    """One row per scenario and naming mode, or per group of scenarios (recovered as ``n/m``), in the order
    they ran."""
    groups: dict[tuple[str, str], list[FaultOutcome]] = {}
    for row in ledger:
        groups.setdefault((row.group or row.fault, row.naming), []).append(row)
    rows = []
    for (label, mode), members in groups.items():
        recovered = sum(member.recovered for member in members)
        if len(members) > 1:
            label, shown = f"{label} ({len(members)} cases)", f"{recovered}/{len(members)}"
        else:
            shown = "yes" if recovered else "NO"
        rows.append(
            (
                label,
                mode,
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
    header = ("fault", "job names", "recovered", "jobs created", "changes lost", "duplicates")
    rows = table_rows(LEDGER)
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    left = 3  # fault, job names and recovered read left-aligned, the figures right-aligned

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            cell.ljust(width) if column < left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    write = terminalreporter.write_line
    write("")
    write("Fault matrix")
    write(line(header))
    write("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in rows:
        write(line(row))
    write("")  # a Markdown table ends at a blank line
    write(
        f"Faults tried: {len(LEDGER)}, tasks recovered: {sum(row.recovered for row in LEDGER)}, "
        f"changes lost: {_figure(r.changes_lost for r in LEDGER)}, duplicates: {_figure(r.duplicates for r in LEDGER)}."
    )
