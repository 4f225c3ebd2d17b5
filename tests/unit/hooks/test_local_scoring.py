"""The hook's ``score_locally``: no connection needed, the summary as a plain dict, bad input raised as is.

The scoring engine itself (settings, retries, thresholds, outputs) is tested in tests/unit/test_local_scoring.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.azure_ml import AzureMLHook

SCRIPT = """\
import os

def init():
    pass

def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""


def deployment(folder: Path) -> Path:
    """A model deployment YAML whose scoring script returns each file's name."""
    (folder / "code").mkdir()
    (folder / "code" / "score.py").write_text(SCRIPT)
    (folder / "model").mkdir()
    (folder / "model" / "weights.txt").write_text("w1")
    document = {
        "name": "local-test",
        "endpoint_name": "local-endpoint",
        "type": "model",
        "model": {"name": "local-model", "path": "model"},
        "code_configuration": {"code": "code", "scoring_script": "score.py"},
        "environment": {"name": "local-env", "image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"},
        "compute": "azureml:batch-cluster",
        "settings": {"mini_batch_size": 2, "max_concurrency_per_instance": 1},
    }
    (folder / "deployment.yml").write_text(yaml.safe_dump(document))
    return folder / "deployment.yml"


def test_a_hook_without_a_connection_scores_locally_and_returns_the_summary_as_a_dict(tmp_path):
    inputs = [tmp_path / name for name in ("a.txt", "b.txt", "c.txt")]
    for path in inputs:
        path.write_text(path.name)

    summary = AzureMLHook(azure_ml_conn_id="no_such_connection").score_locally(
        deployment(tmp_path), inputs, tmp_path / "out", max_workers=1
    )

    assert type(summary) is dict
    assert (summary["status"], summary["error"], summary["files"], summary["mini_batches"]) == ("Completed", None, 3, 2)
    assert (summary["workers"], summary["rows"]) == (1, 3)
    assert summary["output_file"] == str(tmp_path / "out" / "predictions.csv")
    assert sorted((tmp_path / "out" / "predictions.csv").read_text().split()) == ["a.txt", "b.txt", "c.txt"]


def test_bad_input_is_raised_before_anything_runs_naming_the_field(tmp_path):
    with pytest.raises(AzureMLConfigurationError) as err:
        AzureMLHook().score_locally(deployment(tmp_path), tmp_path / "missing", tmp_path / "out")
    assert err.value.field == "inputs"
    assert not (tmp_path / "out").exists()
