"""Prepare step: one CSV row per digit image, its file name then the model's 64 features.

``--images`` is a folder (its PNG files, not those in sub-folders) or a single image file, so one script
serves both the folder pipeline and the one-file pipeline a change-based run invokes.
"""

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image


def images(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(path for path in source.iterdir() if path.is_file() and path.suffix.lower() == ".png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--pixel-scale", type=float, required=True)
    parser.add_argument("--features", type=Path, required=True)
    args = parser.parse_args()
    files = images(args.images)
    args.features.mkdir(parents=True, exist_ok=True)
    with open(args.features / "features.csv", "w", newline="") as out:
        writer = csv.writer(out)
        for path in files:
            pixels = np.asarray(Image.open(path).convert("L"), dtype=float).reshape(-1) / args.pixel_scale
            writer.writerow([path.name, *pixels.tolist()])
    print(f"prepared {len(files)} image(s)")


if __name__ == "__main__":
    main()
