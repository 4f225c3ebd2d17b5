"""What a component declares, read from its entity, and which component ids can be read from the workspace.

Reading a deployment and its component (``deployment_ports``) is remote: an invoke that does not fit the
component is refused on the emulator in tests/integration/operators/test_pipeline_deployment.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import Input, Output, load_component
from azure.ai.ml.entities import CommandComponent

from airflow_batchml.batch_job import ComponentInput
from airflow_batchml.hooks.component_ports import _COMPONENT_ID, ports_of

PIPELINE = Path(__file__).resolve().parents[2] / "integration" / "data" / "pipeline" / "pipeline.yml"
ARM_ID = (
    "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices"
    "/workspaces/ws-1/components/prepare_and_score/versions/3"
)


def command(**ports) -> CommandComponent:
    return CommandComponent(name="c", command="echo", environment="azureml:env:1", **ports)


def test_a_pipeline_components_inputs_are_required_unless_they_have_a_default():
    ports = ports_of(load_component(PIPELINE), "prepare_and_score:1")
    assert ports.component == "prepare_and_score:1"
    assert ports.inputs == {
        "input_data": ComponentInput("uri_folder", required=True),
        "scale": ComponentInput("number", required=True),
        "label": ComponentInput("string", required=False),
    }
    assert ports.outputs == {"prepared": "uri_folder", "scores": "uri_folder"}


def test_an_optional_input_is_not_required():
    ports = ports_of(command(inputs={"n": Input(type="integer", optional=True), "s": Input(type="string")}), "c:1")
    assert ports.inputs == {"n": ComponentInput("integer", False), "s": ComponentInput("string", True)}


def test_a_component_without_inputs_declares_no_inputs():
    ports = ports_of(command(outputs={"o": Output(type="uri_file")}), "c:1")
    assert (ports.inputs, ports.outputs) == ({}, {"o": "uri_file"})


@pytest.mark.parametrize("component_id", [ARM_ID, "azureml:" + ARM_ID, ARM_ID.lower()])
def test_a_workspace_component_id_gives_its_name_and_version(component_id):
    match = _COMPONENT_ID.fullmatch(component_id)
    assert match is not None
    assert (match["name"].lower(), match["version"]) == ("prepare_and_score", "3")


@pytest.mark.parametrize(
    "component_id",
    [
        "azureml://registries/shared/components/prepare_and_score/versions/3",
        "azureml:prepare_and_score:3",
        ARM_ID + "/",
        ARM_ID.replace("/components/", "/models/"),
        ARM_ID + "/extra/segments",
    ],
    ids=["registry", "short-form", "trailing-slash", "not-a-component", "longer-path"],
)
def test_anything_else_is_not_a_workspace_component_id(component_id):
    assert _COMPONENT_ID.fullmatch(component_id) is None
