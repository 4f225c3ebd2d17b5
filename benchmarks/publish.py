"""Where a benchmark's figures go: printed, and written to ``benchmarks/results/<name>.md``.

``update_readmes.py`` copies each results file into the marked block ``<!-- bench:<name> -->`` …
``<!-- /bench:<name> -->`` of README.md and benchmarks/README.md, so ``make bench`` regenerates the
published figures from the run that measured them and they cannot drift from the scripts.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def publish(name: str, lines: list[str]) -> Path:
    """Print ``lines`` (a caption and a Markdown table) and save them, stamped with when and where."""
    text = "\n".join(lines).strip("\n")
    print(f"\n{text}\n")
    RESULTS.mkdir(exist_ok=True)
    stamp = (
        f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/{name}.py` ({platform.python_version()})._"
    )
    path = RESULTS / f"{name}.md"
    path.write_text(f"{text}\n\n{stamp}\n")
    return path
