"""A deployment's local folders: which paths are local, where they are, the checks made before anything is sent.

Uploading them through WASB and registering the code assets runs on Azurite and the emulator in
tests/integration/hooks/test_azure_ml_hook.py and tests/integration/operators/test_pipeline_deployment.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from azure.ai.ml import load_component

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.hooks.deployment_assets import (
    check_pipeline_component,
    check_scoring_script,
    is_local,
    local_code_dir,
    local_step_code,
)
from airflow_batchml.hooks.deployment_spec import load_deployment

PIPELINE = Path(__file__).resolve().parents[2] / "integration" / "data" / "pipeline"


def model_deployment(folder: Path, code: str = "code", scoring_script: str = "score.py"):
    """A model deployment YAML in ``folder`` (a one-file model, ``code/score.py``), loaded as the hook loads it."""
    (folder / "model").mkdir()
    (folder / "model" / "weights.txt").write_text("w1")
    (folder / "code").mkdir()
    (folder / "code" / "score.py").write_text("def init(): pass\n\ndef run(batch): return batch\n")
    document = {
        "name": "blue",
        "endpoint_name": "scoring",
        "type": "model",
        "model": {"name": "digits", "path": "model"},
        "code_configuration": {"code": code, "scoring_script": scoring_script},
        "environment": "azureml:scoring-env:1",
        "compute": "azureml:batch-cluster",
        "settings": {"mini_batch_size": 1},
    }
    (folder / "deployment.yml").write_text(yaml.safe_dump(document))
    return load_deployment(folder / "deployment.yml")


@pytest.mark.parametrize("path", ["model", "./src", "/opt/models/digits", Path("src"), "C:\\models\\digits"])
def test_plain_paths_are_local(path):
    assert is_local(path)


@pytest.mark.parametrize(
    "path",
    [
        "azureml:digits:1",
        "azureml://datastores/workspaceblobstore/paths/models/digits/",
        "https://account.blob.core.windows.net/models/digits",
        "git+https://github.com/org/repo.git",
    ],
)
def test_asset_ids_uris_and_git_sources_are_not_local(path):
    assert not is_local(path)


def test_a_local_code_folder_is_found_next_to_the_yaml(tmp_path):
    assert local_code_dir(model_deployment(tmp_path)) == tmp_path / "code"


def test_a_registered_code_asset_is_no_local_folder(tmp_path):
    assert local_code_dir(model_deployment(tmp_path, code="azureml:scoring-code:1")) is None


def test_a_present_scoring_script_passes(tmp_path):
    check_scoring_script(model_deployment(tmp_path))


def test_a_missing_scoring_script_is_refused_naming_the_field_and_the_folder(tmp_path):
    deployment = model_deployment(tmp_path, scoring_script="predict.py")
    with pytest.raises(AzureMLConfigurationError) as err:
        check_scoring_script(deployment)
    assert err.value.field == "code_configuration.scoring_script"
    assert f"'predict.py' is not a file in the code folder {str(tmp_path / 'code')!r}" in str(err.value)


def test_the_scoring_script_of_a_registered_code_asset_is_not_checked(tmp_path):
    check_scoring_script(model_deployment(tmp_path, code="azureml:scoring-code:1", scoring_script="predict.py"))


def test_without_a_wasb_connection_local_folders_are_left_to_the_sdk(azure_ml_conn, tmp_path):
    deployment = model_deployment(tmp_path)
    hook = AzureMLHook(azure_ml_conn_id=azure_ml_conn())
    hook._upload_local_assets(deployment)
    assert (Path(deployment.model.path), deployment.code_configuration.code) == (tmp_path / "model", "code")


def test_step_code_folders_are_found_in_nested_pipeline_components():
    component = load_deployment(PIPELINE / "nested" / "deployment.yml").component
    steps = {step: code.resolve() for step, _component, code in local_step_code(component)}
    assert steps == {"inner.prepare": PIPELINE / "prepare" / "src", "inner.score": PIPELINE / "score" / "src"}


def test_absolute_step_code_is_kept_and_registered_code_is_skipped():
    component = load_component(PIPELINE / "pipeline.yml")
    component.jobs["prepare"].component.code = "/opt/steps/prepare"
    component.jobs["score"].component.code = "azureml:score-code:1"
    assert [(step, code) for step, _component, code in local_step_code(component)] == [
        ("prepare", Path("/opt/steps/prepare"))
    ]


def test_a_valid_pipeline_component_and_a_component_reference_pass():
    check_pipeline_component(load_component(PIPELINE / "pipeline.yml"))
    check_pipeline_component("azureml:prepare_and_score:1")


def test_an_invalid_pipeline_component_is_refused_naming_the_field(tmp_path):
    """An optional pipeline input bound to a step input that is required: the SDK's own validation fails."""
    folder = shutil.copytree(PIPELINE, tmp_path / "pipeline")
    path = folder / "pipeline.yml"
    path.write_text(path.read_text().replace("    type: number\n", "    type: number\n    optional: true\n"))
    with pytest.raises(AzureMLConfigurationError) as err:
        check_pipeline_component(load_component(path), "component")
    assert err.value.field.startswith("component.inputs.")
    assert "Pipeline optional Input binding to required inputs: ['prepare.inputs.scale']" in str(err.value)
