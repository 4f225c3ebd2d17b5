"""A step that fails: it names the input files on stderr, then exits 3."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    names = sorted(p.name for p in Path(args.input).iterdir())
    print(f"checking {len(names)} files", flush=True)
    print(f"ValueError: broken check refuses {', '.join(names)}", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main()
