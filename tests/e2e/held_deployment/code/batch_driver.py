"""The digits scoring script, held until released: for the end-to-end restart tests.

Input files are named ``<set>-<n>.png``; ``run()`` waits until the file ``$E2E_GATE_DIR/<set>`` exists
(a test creates it once it has restarted what it restarts), then predicts like the demo's script. The
wait is bounded, so a test that never releases fails its job instead of hanging.
"""

import os
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from PIL import Image

HOLD_LIMIT_SECONDS = 240
PIXEL_SCALE = 15.0
model = None


def init():
    global model
    (model_file,) = list(Path(os.environ["AZUREML_MODEL_DIR"]).rglob("*.joblib"))
    model = joblib.load(model_file)


def wait_for_release(path):
    gate = Path(os.environ["E2E_GATE_DIR"]) / os.path.basename(path).rsplit("-", 1)[0]
    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} was not created within {HOLD_LIMIT_SECONDS} s")
        time.sleep(0.2)


def run(mini_batch):
    for path in mini_batch:
        wait_for_release(path)
    features = [np.asarray(Image.open(path).convert("L"), dtype=float).reshape(-1) / PIXEL_SCALE for path in mini_batch]
    predictions = model.predict(np.vstack(features))
    return pd.DataFrame({"file": [os.path.basename(p) for p in mini_batch], "prediction": predictions})
