"""Issue 15's done-when for local scoring: the local command writes, for a folder, the rows a batch job on
the emulator writes for the same deployment and files.

The deployment is the digits example's own (``dags/digits``: its YAML, scoring script and conda file), with
a logistic regression trained here and 45 digit images as PNG files, the seed's format. It is deployed
through the hook to an endpoint of its own (other modules own ``digits-batch``), the batch job scores the
folder (the hook uploads it through WASB), and ``python -m airflow_batchml.local_scoring`` scores the same
folder. The engine writes rows in mini-batch order of the sorted files, so the two files must be equal.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_batchml.hooks.job_status import AzureMLJobStatus

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "dags" / "digits"
ENDPOINT = "local-scoring"
IMAGES = 45  # 3 mini-batches of the deployment's 20, on its 2 workers
JOB_DEADLINE = 180.0


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """A copy of the digits deployment with a freshly trained model, and an ``images`` folder beside it."""
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder = tmp_path_factory.mktemp("digits")
    shutil.copy(DIGITS / "deployment.yml", folder)
    for name in ("code", "environment"):
        shutil.copytree(DIGITS / name, folder / name)
    data = load_digits()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data.data[:1200], data.target[:1200])
    (folder / "model" / "logreg").mkdir(parents=True)
    joblib.dump(model, folder / "model" / "logreg" / "digits-logreg.joblib")
    png = _seed_module().png
    (folder / "images").mkdir()
    for index, features in enumerate(data.data[1200 : 1200 + IMAGES]):
        (folder / "images" / f"digit-{index:04d}.png").write_bytes(png(features))
    return folder


def _seed_module():
    """``dags/digits/seed.py``, whose ``png`` writes the images the example DAGs score."""
    spec = importlib.util.spec_from_file_location("digits_seed", DIGITS / "seed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hook(emulator):
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_AZURE_ML_DEFAULT", emulator.connection_json.read_text())
        patch.setenv("AIRFLOW_CONN_WASB_DEFAULT", emulator.wasb_connection_json.read_text())
        yield AzureMLHook(polling_interval=0.5)


def batch_job_rows(hook, digits: Path) -> list[str]:
    """Deploy the digits deployment, score the images folder with a batch job and read its output file."""
    hook.ensure_compute("batch-cluster", max_instances=1)
    hook.create_or_update_batch_endpoint(ENDPOINT)
    hook.create_or_update_batch_deployment(str(digits / "deployment.yml"), endpoint_name=ENDPOINT, set_default=True)
    submitted = hook.invoke_batch_endpoint(ENDPOINT, {"images": str(digits / "images")}, job_name="local-vs-batch")
    deadline = time.monotonic() + JOB_DEADLINE
    while (job := hook.get_job(submitted["job_name"]))["status"] not in AzureMLJobStatus.TERMINAL_STATUSES:
        assert time.monotonic() < deadline, f"job {job['job_name']} still {job['status']}"
        time.sleep(0.3)
    assert job["status"] == "Completed", job
    return hook.read_datastore_file(submitted["output_uri"] + "predictions.csv").decode().splitlines()


def test_local_command_writes_the_rows_of_a_batch_job(hook, digits, tmp_path):
    remote = batch_job_rows(hook, digits)

    command = [sys.executable, "-m", "airflow_batchml.local_scoring", str(digits / "deployment.yml")]
    result = subprocess.run(
        [*command, str(digits / "images"), "--output-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    local = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert local == remote
    assert len(local) == IMAGES and local[0].startswith("digit-0000.png ")
    assert len({row.split()[1] for row in local}) > 5, "the model predicts many digits, not one"
    assert "files          45 (0 failed)" in result.stdout
    assert "mini-batches   3 of 3 succeeded, 0 failed" in result.stdout
    assert "warning" not in result.stderr  # the conda file's packages are all installed here
