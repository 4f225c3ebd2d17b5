"""Copy each ``benchmarks/results/<name>.md`` into the ``<!-- bench:<name> -->`` blocks of the READMEs.

Run by ``make bench`` after the scripts. A block whose results file does not exist is left as it is
(and reported), so a partial run updates only what it measured.

    .venv/bin/python benchmarks/update_readmes.py [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
READMES = [ROOT / "README.md", ROOT / "benchmarks" / "README.md"]
BLOCK = re.compile(r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /bench:(?P=name) -->)", re.DOTALL)


def fill(text: str, results: Path) -> tuple[str, list[str], list[str]]:
    """``text`` with every block whose results exist replaced; the names updated and the names missing."""
    updated, missing = [], []

    def replace(match: re.Match[str]) -> str:
        path = results / f"{match['name']}.md"
        if not path.exists():
            missing.append(match["name"])
            return match.group(0)
        updated.append(match["name"])
        return f"{match.group(1)}{path.read_text().strip()}\n{match.group(4)}"

    return BLOCK.sub(replace, text), updated, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a README differs from the results")
    args = parser.parse_args()
    stale = []
    for readme in READMES:
        text = readme.read_text()
        new, updated, missing = fill(text, RESULTS)
        if new != text:
            stale.append(readme.name)
            if not args.check:
                readme.write_text(new)
        print(
            f"{readme.relative_to(ROOT)}: updated {', '.join(updated) or 'nothing'}"
            + (f"; no results yet for {', '.join(missing)}" if missing else "")
        )
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
