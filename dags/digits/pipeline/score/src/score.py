"""Score step: classify the prepared features with the model folder's joblib file; writes predictions.csv."""

import argparse
import csv
from pathlib import Path

import joblib
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True)
    args = parser.parse_args()
    (model_file,) = list(args.model.rglob("*.joblib"))
    model = joblib.load(model_file)
    with open(args.features / "features.csv", newline="") as source:
        rows = list(csv.reader(source))
    predictions = model.predict(np.array([[float(value) for value in row[1:]] for row in rows])) if rows else []
    args.predictions.mkdir(parents=True, exist_ok=True)
    with open(args.predictions / "predictions.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "prediction"])
        writer.writerows((row[0], int(digit)) for row, digit in zip(rows, predictions, strict=True))
    print(f"scored {len(rows)} image(s)")


if __name__ == "__main__":
    main()
