"""Pipeline component deployment YAML: checked locally, each bad input naming its field (no network at all)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.deployment_assets import local_step_code
from airflow_batchml.hooks.deployment_spec import check_pipeline_settings, load_deployment

PIPELINE = Path(__file__).resolve().parents[2] / "integration" / "data" / "pipeline"


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of the two-step pipeline fixture, free to break."""
    shutil.copytree(PIPELINE, tmp_path / "pipeline")
    return tmp_path / "pipeline"


def write_deployment(folder: Path, body: str) -> Path:
    path = folder / "bad-deployment.yml"
    path.write_text("name: dep\nendpoint_name: pipes\ntype: pipeline\n" + body)
    return path


def test_the_fixture_loads_as_a_pipeline_deployment_with_its_steps_local_code(folder):
    from azure.ai.ml.entities import PipelineComponent, PipelineComponentBatchDeployment

    deployment = load_deployment(folder / "deployment.yml")
    assert isinstance(deployment, PipelineComponentBatchDeployment)
    assert isinstance(deployment.component, PipelineComponent)
    assert deployment.settings == {
        "default_compute": "batch-cluster",
        "default_datastore": "workspaceblobstore",
        "continue_on_step_failure": False,
    }
    steps = {step: code.resolve() for step, _component, code in local_step_code(deployment.component)}
    assert steps == {"prepare": folder / "prepare" / "src", "score": folder / "score" / "src"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("component: ./pipeline.yml\ncolour: blue\n", "deployment (", "colour: Unknown field"),
        ("settings:\n  default_compute: c\n", "deployment.component", "is required"),
        ("component: ./nope.yml\n", "deployment.component", "does not exist"),
        ("component: ./pipeline.yml\nsettings:\n  colour: red\n", "deployment.settings.colour", "force_rerun"),
        (
            "component: ./pipeline.yml\nsettings:\n  continue_on_step_failure: 'no'\n",
            "deployment.settings.continue_on_step_failure",
            "is not a bool",
        ),
    ],
    ids=["unknown-key", "no-component", "no-component-file", "unknown-setting", "setting-type"],
)
def test_a_bad_deployment_yaml_names_the_field(folder, body, field, message):
    with pytest.raises(AzureMLConfigurationError, match=message) as err:
        load_deployment(write_deployment(folder, body))
    assert err.value.field.startswith(field)


@pytest.mark.parametrize(
    ("break_it", "field"),
    [
        (
            lambda f: (f / "pipeline.yml").write_text("type: pipeline\nname: p\nstages: {}\njobs: {a: {}}\n"),
            "component.stages",
        ),
        (lambda f: (f / "pipeline.yml").write_text("type: pipeline\nname: p\njobs: [\n"), "component"),
        (lambda f: shutil.rmtree(f / "score"), "component.jobs.score.component"),
        (lambda f: shutil.rmtree(f / "score" / "src"), "component.jobs.score.component.code"),
        (
            lambda f: (f / "pipeline.yml").write_text(
                (f / "pipeline.yml").read_text().replace("type: number", "type: numbr")
            ),
            "component (",
        ),
    ],
    ids=["unknown-key", "not-yaml", "missing-step-file", "missing-step-code", "bad-input-type"],
)
def test_a_malformed_local_component_names_the_field(folder, break_it, field):
    break_it(folder)
    with pytest.raises(AzureMLConfigurationError) as err:
        load_deployment(folder / "deployment.yml")
    assert err.value.field.startswith(f"deployment.{field}")


def test_compute_and_datastore_settings_are_sent_as_bare_names():
    settings = {"default_compute": "azureml:batch-cluster", "default_datastore": "azureml:workspaceblobstore"}
    assert check_pipeline_settings(settings) == {
        "default_compute": "batch-cluster",
        "default_datastore": "workspaceblobstore",
    }
