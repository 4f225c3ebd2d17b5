"""YAML is only ever read with the safe loader: no tag in a deployment file can run code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.deployment_spec import load_deployment, read_yaml

ROOT = Path(__file__).resolve().parents[3]
UNSAFE = re.compile(
    r"yaml\.(load|unsafe_load|full_load|load_all|unsafe_load_all|full_load_all)\(|Loader\s*=|UnsafeLoader"
)


def test_no_source_file_uses_an_unsafe_yaml_loader():
    sources = [
        path for folder in ("airflow_batchml", "dags", "demo", "benchmarks") for path in (ROOT / folder).rglob("*.py")
    ]
    assert len(sources) > 50
    offenders = {
        f"{path.relative_to(ROOT)}:{number}": line.strip()
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if UNSAFE.search(line)
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:pathlib.Path ['{marker}']",
        "!!python/object:builtins.object {{}}",
        "!!python/name:os.system",
    ],
)
def test_python_tags_in_a_deployment_yaml_are_a_configuration_error(tmp_path, payload):
    marker = tmp_path / "executed"
    path = tmp_path / "deployment.yml"
    path.write_text(f"name: dep-one\nendpoint_name: digits-batch\nmodel: {payload.format(marker=marker)}\n")
    with pytest.raises(AzureMLConfigurationError) as err:
        load_deployment(path)
    assert err.value.field == "deployment"
    assert "is not valid YAML" in str(err.value)
    assert not marker.exists()


def test_a_python_tag_at_the_top_is_refused_too(tmp_path):
    path = tmp_path / "endpoint.yml"
    path.write_text("!!python/object/apply:os.getcwd []\n")
    with pytest.raises(AzureMLConfigurationError, match="endpoint: .* is not valid YAML"):
        read_yaml(path, "endpoint")


def test_the_emulator_reads_conda_files_safely():
    from airflow_batchml.emulator.scoring.joblog import missing_pip_packages

    with pytest.raises(Exception, match="python/object") as err:
        missing_pip_packages("dependencies: !!python/object/apply:os.getcwd []\n")
    assert type(err.value).__module__.startswith("yaml")
