"""Score step: one scores.csv row per prepared file, the sum of its records."""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepared", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    rows = ["file,label,score"]
    for source in sorted(p for p in Path(args.prepared).iterdir() if p.is_file()):
        total = sum(float(line) for line in source.read_text().split() if line)
        rows.append(f"{source.name},{args.label},{total:g}")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.csv").write_text("\n".join(rows) + "\n")
    print(f"scored {len(rows) - 1} files")


if __name__ == "__main__":
    main()
