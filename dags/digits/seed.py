"""Demo data with no download: train the digit classifiers and write the test images into storage.

scikit-learn ships the digits data set (1,797 8x8 images). The training split fits two models, saved as
the local model folders the deployment YAMLs name; the test split becomes PNG files in the workspace's
default datastore under ``digits/images/``, with the true labels in ``digits/labels.csv``, so the DAGs
can score them and measure accuracy.

    python dags/digits/seed.py     (uses the azure_ml and wasb_default Airflow connections)
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
IMAGES_PREFIX = "digits/images"
LABELS_BLOB = "digits/labels.csv"
PIXEL_SCALE = 15  # feature values 0-16 become pixels 0-240; the scoring script divides them back


def train_models() -> tuple[list, list]:
    """Fit both models on the training split, save them, and return the test split."""
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data, digits.target, test_size=0.25, random_state=0)
    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "forest": RandomForestClassifier(n_estimators=100, random_state=0),
    }
    for name, model in models.items():
        folder = HERE / "model" / name
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(model.fit(x_train, y_train), folder / f"digits-{name}.joblib")
    return list(x_test), list(y_test)


def png(features) -> bytes:
    import numpy as np
    from PIL import Image

    pixels = (np.asarray(features).reshape(8, 8) * PIXEL_SCALE).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def seed(azure_ml_conn_id: str = "azure_ml_default", wasb_conn_id: str = "wasb_default") -> int:
    """Train, then upload the test images and labels; returns the number of images."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    from airflow_batchml.hooks.azure_ml import AzureMLHook

    images, labels = train_models()
    container = AzureMLHook(azure_ml_conn_id).get_client().datastores.get("workspaceblobstore").container_name
    service = WasbHook(wasb_conn_id=wasb_conn_id).get_conn()
    names = [f"digit-{index:04d}.png" for index in range(len(images))]

    def upload(item: tuple[str, Any]) -> None:
        name, features = item
        service.get_blob_client(container, f"{IMAGES_PREFIX}/{name}").upload_blob(png(features), overwrite=True)

    with ThreadPoolExecutor(max_workers=8) as pool:  # 450 small uploads; storage round trips dominate
        list(pool.map(upload, zip(names, images, strict=True)))
    rows = io.StringIO()
    csv.writer(rows).writerows((name, int(label)) for name, label in zip(names, labels, strict=True))
    service.get_blob_client(container, LABELS_BLOB).upload_blob(rows.getvalue(), overwrite=True)
    return len(images)


if __name__ == "__main__":
    print(f"seeded {seed()} digit images")
