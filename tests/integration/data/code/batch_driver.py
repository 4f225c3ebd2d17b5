"""Scoring script for the emulator tests: labels each input file with the model's label and its size."""

from __future__ import annotations

import os

label = None


def init():
    global label
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.txt")) as handle:
        label = handle.read().strip()


def run(mini_batch):
    return [f"{os.path.basename(path)},{label},{os.path.getsize(path)}" for path in mini_batch]
