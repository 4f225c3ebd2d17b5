"""The contract tests run against the integration tests' emulator; the run ends with the match count."""

from __future__ import annotations

import pytest

# operation id -> (pending, differences)
LEDGER: dict[str, tuple[bool, list[str]]] = {}


@pytest.fixture
def ledger() -> dict[str, tuple[bool, list[str]]]:
    return LEDGER


def pytest_terminal_summary(terminalreporter) -> None:
    if not LEDGER:
        return
    matching = [name for name, (_, differences) in LEDGER.items() if not differences]
    pending = [name for name, (is_pending, _) in LEDGER.items() if is_pending]
    terminalreporter.write_line("")
    terminalreporter.write_line(
        f"Azure ML contract: {len(matching)} of {len(LEDGER)} recorded operations match the emulator "
        f"({len(pending)} pending: {', '.join(pending) or 'none'})"
    )
