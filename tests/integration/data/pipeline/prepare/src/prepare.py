"""Prepare step: every input file becomes a file of the same name whose numbers are multiplied by --scale."""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for source in sorted(p for p in Path(args.input).rglob("*") if p.is_file()):
        values = [float(line) * args.scale for line in source.read_text().split() if line]
        (out / source.name).write_text("".join(f"{v:g}\n" for v in values))
        print(f"prepared {source.name}: {len(values)} records")


if __name__ == "__main__":
    main()
