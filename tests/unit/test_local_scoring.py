"""Local scoring's settings, on the emulator's engine with real worker processes and no server.

Each test writes a deployment YAML (the ``settings:`` form unless it says flat) with a small scoring script,
scores a folder of small files and checks what a batch job would do with the setting under test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.local_scoring import main, score_locally

# Fails on files whose name holds "bad"; sleeps past any timeout on "hang"; with FAIL_ONCE_DIR set, fails
# the first attempt at each file (a marker per file). Writes a side file to the output folder when asked.
SCRIPT = """
    import os
    import time
    from pathlib import Path

    def init():
        global weights
        (found,) = Path(os.environ["AZUREML_MODEL_DIR"]).rglob("weights.txt")  # as scripts search their model
        weights = found.read_text()

    def run(mini_batch):
        rows = []
        for path in mini_batch:
            name = os.path.basename(path)
            if "bad" in name:
                raise ValueError(f"cannot score {name}")
            if "hang" in name:
                time.sleep(60)
            once = os.environ.get("FAIL_ONCE_DIR")
            if once and not os.path.exists(os.path.join(once, name)):
                open(os.path.join(once, name), "w").close()
                raise RuntimeError(f"first attempt at {name}")
            if os.environ.get("SIDE_FILE"):
                open(os.path.join(os.environ["AZUREML_BI_OUTPUT_PATH"], "side.txt"), "a").write(name + "\\n")
            rows.append(f"{name} {weights}")
        return rows
"""


def deployment(tmp_path: Path, *, flat: bool = False, conda: dict | None = None, **settings) -> Path:
    """A deployment YAML in ``tmp_path`` with SCRIPT as its scoring script and a one-file model."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(textwrap.dedent(SCRIPT))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.txt").write_text("w1")
    environment = {"name": "local-env", "image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"}
    if conda is not None:
        (tmp_path / "conda.yaml").write_text(yaml.safe_dump(conda))
        environment["conda_file"] = "conda.yaml"
    document = {
        "name": "local-test",
        "endpoint_name": "local-endpoint",
        "model": {"name": "local-model", "path": "model"},
        "code_configuration": {"code": "code", "scoring_script": "score.py"},
        "environment": environment,
        "compute": "azureml:batch-cluster",
        "resources": {"instance_count": 1},
    }
    settings = {"max_concurrency_per_instance": 1, "mini_batch_size": 1, **settings}
    document.update(settings if flat else {"type": "model", "settings": settings})
    path = tmp_path / "deployment.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def inputs(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(name)
    return folder


def rows(output: Path) -> list[str]:
    return (output / "predictions.csv").read_text().splitlines()


def test_error_threshold_counts_failed_files_and_stops_the_job(tmp_path):
    folder = inputs(tmp_path, ["a-bad", "b-bad", "c-bad", "d-good", "e-good"])
    tolerant = deployment(tmp_path, flat=True, error_threshold=3, retry_settings={"max_retries": 0})

    summary = score_locally(tolerant, folder, tmp_path / "tolerant")

    assert (summary.status, summary.failed_files, summary.failed_mini_batches) == ("Completed", 3, 3)
    assert rows(tmp_path / "tolerant") == ["d-good w1", "e-good w1"]

    strict = tmp_path / "strict"
    strict.mkdir()
    summary = score_locally(
        deployment(strict, flat=True, error_threshold=1, retry_settings={"max_retries": 0}), folder, strict / "out"
    )

    assert summary.status == "Failed"
    assert summary.error.startswith("ErrorThresholdExceeded: 2 input file(s) failed, more than error_threshold 1")
    # one worker takes the files in order: the second failure stops the job before the good files run
    assert (summary.failed_files, summary.succeeded_mini_batches, summary.mini_batches) == (2, 0, 5)
    assert summary.output_file is None and not (strict / "out" / "predictions.csv").exists()


def test_summary_only_writes_no_output_file_but_keeps_what_the_script_wrote(tmp_path):
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    folder = inputs(tmp_path, ["a", "b", "c"])
    path = deployment(
        tmp_path, output_action="summary_only", mini_batch_size=2, environment_variables={"SIDE_FILE": "1"}
    )

    summary = AzureMLHook().score_locally(path, folder, tmp_path / "out")

    assert summary["status"] == "Completed"
    assert (summary["files"], summary["mini_batches"], summary["output_file"], summary["rows"]) == (3, 2, None, None)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["side.txt"]
    assert sorted((tmp_path / "out" / "side.txt").read_text().split()) == ["a", "b", "c"]


def test_retries_give_a_failed_mini_batch_another_attempt(tmp_path):
    folder = inputs(tmp_path, ["a", "b", "c"])
    once = tmp_path / "markers"
    once.mkdir()
    settings = {"environment_variables": {"FAIL_ONCE_DIR": str(once)}}
    retried = deployment(tmp_path, retry_settings={"max_retries": 1, "timeout": 30}, **settings)

    summary = score_locally(retried, folder, tmp_path / "retried")

    assert (summary.status, summary.failed_files, summary.rows) == ("Completed", 0, 3)
    assert rows(tmp_path / "retried") == ["a w1", "b w1", "c w1"]

    for marker in once.iterdir():
        marker.unlink()
    no_retry = tmp_path / "no-retry"
    no_retry.mkdir()
    summary = score_locally(deployment(no_retry, retry_settings={"max_retries": 0}, **settings), folder, no_retry / "o")

    assert summary.status == "Failed"
    assert summary.error.startswith("AllMiniBatchesFailed") and summary.error.endswith("first attempt at c")


def test_timeout_kills_a_hung_run_and_scoring_goes_on(tmp_path):
    folder = inputs(tmp_path, ["a-hang", "b", "c"])
    lines: list[str] = []
    path = deployment(tmp_path, retry_settings={"max_retries": 0, "timeout": 1})

    from airflow_batchml.local_scoring import prepare, run

    summary = run(prepare(path, folder, tmp_path / "out"), on_log=lines.append)

    assert (summary.status, summary.failed_files, summary.succeeded_mini_batches) == ("Completed", 1, 2)
    assert rows(tmp_path / "out") == ["b w1", "c w1"]
    assert "Mini-batch 0 attempt 1/1 failed: run() did not return within the timeout of 1s" in "".join(lines)


def test_missing_packages_are_reported_by_name_before_scoring(tmp_path, capsys):
    conda = {
        "dependencies": [
            "python=3.11",
            "pip",
            "conda-forge::no-such-conda-dist-xyz=1.0",
            "pyyaml",
            {"pip": ["--extra-index-url https://example.invalid/simple", "pandas>=2", "no-such-pip-dist-xyz==0.1"]},
        ]
    }
    path = deployment(tmp_path, conda=conda)

    assert main([str(path), str(inputs(tmp_path, ["a"])), "-o", str(tmp_path / "out")]) == 0

    out, err = capsys.readouterr()
    first = err.splitlines()[0]
    assert first.startswith("warning: The deployment's environment declares packages this interpreter does not have")
    assert "have: no-such-pip-dist-xyz, no-such-conda-dist-xyz; the scoring script runs here" in first
    assert "Environment image mcr.microsoft.com" in err  # the job log follows the warning
    assert "not installed  no-such-pip-dist-xyz, no-such-conda-dist-xyz" in out
    assert "files          1 (0 failed)" in out


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("type", "pipeline", "deployment"),
        ("model", "azureml:local-model:1", "model"),
        ("code_configuration", {"code": "nowhere", "scoring_script": "score.py"}, "code_configuration.code"),
        ("code_configuration", {"code": "code", "scoring_script": "other.py"}, "code_configuration.scoring_script"),
        ("settings", {"mini_batch_size": 0}, "deployment"),
    ],
    ids=["pipeline", "registered-model", "no-code", "no-script", "bad-setting"],
)
def test_bad_deployments_are_refused_naming_the_field(tmp_path, key, value, field):
    path = deployment(tmp_path)
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), key: value}))

    with pytest.raises(AzureMLConfigurationError) as raised:
        score_locally(path, inputs(tmp_path, ["a"]), tmp_path / "out")

    assert raised.value.field.split(" ")[0] == field


def test_bad_inputs_and_outputs_are_refused_before_anything_runs(tmp_path, capsys):
    path = deployment(tmp_path)
    folder = inputs(tmp_path, ["a"])
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "predictions.csv").write_text("earlier\n")
    (tmp_path / "empty").mkdir()

    assert main([str(path), str(tmp_path / "missing"), "-o", str(tmp_path / "out")]) == 2
    assert "error: inputs: " in capsys.readouterr().err
    with pytest.raises(AzureMLConfigurationError, match="output_dir: .* already holds predictions.csv"):
        score_locally(path, folder, tmp_path / "used")
    with pytest.raises(AzureMLConfigurationError, match="inputs: the inputs hold no files"):
        score_locally(path, tmp_path / "empty", tmp_path / "out")
    assert (tmp_path / "used" / "predictions.csv").read_text() == "earlier\n"
