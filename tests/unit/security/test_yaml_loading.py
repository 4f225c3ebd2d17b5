"""YAML is only ever read with the safe loader: no tag in a deployment file can run code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.deployment_spec import load_deployment, load_endpoint, read_yaml

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
    from airflow_batchml_emulator.scoring.joblog import missing_pip_packages

    with pytest.raises(Exception, match="python/object") as err:
        missing_pip_packages("dependencies: !!python/object/apply:os.getcwd []\n")
    assert type(err.value).__module__.startswith("yaml")


def _laughs(levels: int) -> str:
    """A "billion laughs" tags block: each level's anchor is a list of ten aliases to the level below."""
    lines = ["name: digits-batch", "tags:", "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [6, 9])
def test_yaml_alias_bombs_are_refused_before_the_sdk_sees_them(tmp_path, levels):
    path = tmp_path / "endpoint.yml"
    path.write_text(_laughs(levels))
    assert len(path.read_bytes()) < 1000
    with pytest.raises(AzureMLConfigurationError, match=r"expands to more than 10,000 values"):
        load_endpoint(path)


def test_an_alias_that_contains_itself_is_refused(tmp_path):
    path = tmp_path / "endpoint.yml"
    path.write_text("name: digits-batch\ndescription: &loop [a, *loop]\n")
    with pytest.raises(AzureMLConfigurationError, match="refers to itself"):
        read_yaml(path, "endpoint")


def test_ordinary_aliases_still_load(tmp_path):
    path = tmp_path / "deployment.yml"
    path.write_text(
        "name: dep-one\nendpoint_name: digits-batch\nmodel: azureml:m:1\ncompute: azureml:cpu\n"
        "settings:\n  mini_batch_size: 10\n  environment_variables: &env {LEVEL: debug}\n"
        "tags: *env\n"
    )
    deployment = load_deployment(path)
    assert deployment.tags == {"LEVEL": "debug"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: digits-batch\ntags: {team: 5}\n", "endpoint.tags.team"),
        ("name: digits-batch\ntags: {team: [a, b]}\n", "endpoint.tags.team"),
        ("name: digits-batch\ntags: [a, b]\n", "endpoint.tags"),
        ("name: d\nenvironment_variables: [A=1]\n", "endpoint.environment_variables"),
        (
            "name: d\nsettings:\n  environment_variables: {RETRIES: 3}\n",
            "endpoint.settings.environment_variables.RETRIES",
        ),
    ],
)
def test_tags_and_environment_variables_take_only_strings(tmp_path, text, field):
    path = tmp_path / "endpoint.yml"
    path.write_text(text)
    with pytest.raises(AzureMLConfigurationError) as err:
        read_yaml(path, "endpoint")
    assert err.value.field == field


def test_a_control_character_is_a_configuration_error(tmp_path):
    path = tmp_path / "endpoint.yml"
    path.write_text("name: digits\x1f\n")
    with pytest.raises(AzureMLConfigurationError, match="is not valid YAML"):
        read_yaml(path, "endpoint")
