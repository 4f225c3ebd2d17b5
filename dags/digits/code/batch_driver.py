"""Batch scoring script for the digits deployments: the init()/run(mini_batch) contract of Azure ML.

init() loads the model once per worker from AZUREML_MODEL_DIR; run() turns each PNG (an 8x8 greyscale
digit, as scikit-learn's bundled data set has them) into the model's 64 features and returns one row
per file: the file name and the predicted digit.
"""

import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from PIL import Image

model = None
# The seed writes feature values 0-16 as pixels 0-240; dividing by 15 gives the features back.
PIXEL_SCALE = 15.0


def init():
    global model
    model_dir = Path(os.environ["AZUREML_MODEL_DIR"])
    (model_file,) = list(model_dir.rglob("*.joblib"))
    model = joblib.load(model_file)


def run(mini_batch):
    features = [np.asarray(Image.open(path).convert("L"), dtype=float).reshape(-1) / PIXEL_SCALE for path in mini_batch]
    predictions = model.predict(np.vstack(features))
    return pd.DataFrame({"file": [os.path.basename(p) for p in mini_batch], "prediction": predictions})
