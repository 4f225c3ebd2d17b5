"""Binding a scoring request to a pipeline component, and planning its steps (pure rules)."""

from __future__ import annotations

import pytest

from airflow_batchml_emulator.errors import BindingError
from airflow_batchml_emulator.pipeline_spec import Binding, bind_inputs, bind_outputs, plan_steps

SPEC = {
    "type": "pipeline",
    "inputs": {
        "data": {"type": "uri_folder"},
        "scale": {"type": "number"},
        "count": {"type": "integer", "default": "3"},
        "flag": {"type": "boolean", "optional": "True"},
    },
    "outputs": {"scores": {"type": "uri_folder"}},
}
DATA = {"jobInputType": "UriFolder", "uri": "azureml://datastores/workspaceblobstore/paths/in/"}


def _literal(value):
    return {"jobInputType": "Literal", "value": value}


def test_inputs_bind_literals_as_text_and_apply_defaults():
    bound = bind_inputs(SPEC, {"data": DATA, "scale": _literal(0.5)})
    assert bound == {
        "data": Binding("data", type="uri_folder", uri=DATA["uri"]),
        "scale": Binding("literal", value="0.5"),
        "count": Binding("literal", value="3"),
    }


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"data": DATA}, "inputData.scale"),  # required, no default
        ({"data": DATA, "scale": _literal("two")}, "inputData.scale"),
        ({"data": DATA, "scale": _literal(True)}, "inputData.scale"),
        ({"data": DATA, "scale": DATA}, "inputData.scale"),
        ({"data": _literal("x"), "scale": _literal(1)}, "inputData.data"),
        ({"data": DATA, "scale": _literal(1), "count": _literal("1.5")}, "inputData.count"),
        ({"data": DATA, "scale": _literal(1), "flag": _literal("maybe")}, "inputData.flag"),
        ({"data": DATA, "scale": _literal(1), "other": _literal(1)}, "inputData.other"),
        ({"data": {"jobInputType": "UriFile", "uri": "x"}, "scale": _literal(1)}, "inputData.data"),
    ],
)
def test_inputs_the_component_cannot_take_are_refused_naming_them(inputs, field):
    with pytest.raises(BindingError) as caught:
        bind_inputs(SPEC, inputs)
    assert caught.value.field == field


def test_booleans_and_numeric_strings_are_accepted_as_their_type():
    bound = bind_inputs(SPEC, {"data": DATA, "scale": _literal("2"), "flag": _literal("false")})
    assert bound["scale"].value == "2" and bound["flag"].value == "False"


def test_outputs_not_given_get_the_default_location_and_unknown_ones_are_refused():
    default = lambda name: f"default/{name}/"  # noqa: E731
    assert bind_outputs(SPEC, {}, default) == {"scores": {"jobOutputType": "UriFolder", "uri": "default/scores/"}}
    given = {"scores": {"jobOutputType": "UriFolder", "uri": "azureml://datastores/d/paths/o/"}}
    assert bind_outputs(SPEC, given, default)["scores"]["uri"] == "azureml://datastores/d/paths/o/"
    with pytest.raises(BindingError, match="outputData.verdict"):
        bind_outputs(SPEC, {"verdict": given["scores"]}, default)
    with pytest.raises(BindingError, match="outputData.scores"):
        bind_outputs(SPEC, {"scores": {"jobOutputType": "UriFile", "uri": "x"}}, default)


def _node(component, inputs=None, outputs=None):
    wrap = {key: {"value": value, "job_input_type": "literal"} for key, value in (inputs or {}).items()}
    return {"type": "command", "componentId": component, "inputs": wrap, "outputs": outputs or {}}


COMMANDS = {
    "prep": {"type": "command", "command": "prep", "inputs": {"d": {"type": "uri_folder"}}, "outputs": {"o": {}}},
    "score": {
        "type": "command",
        "command": "score",
        "inputs": {"p": {"type": "uri_folder"}, "label": {"type": "string", "default": "x"}},
        "outputs": {"s": {}},
    },
}


def _plan(spec, lookup=COMMANDS.get):
    inputs = {"data": Binding("data", type="uri_folder", uri="in/")}
    outputs = {"scores": {"uri": "out/scores/"}}
    return plan_steps(spec, inputs, outputs, lookup, lambda job, output: f"tmp/{job}/{output}/")


def test_steps_run_after_the_steps_they_read_from_whatever_the_declaration_order():
    spec = {
        "jobs": {
            "score": _node(
                "score", {"p": "${{parent.jobs.prep.outputs.o}}"}, {"s": {"value": "${{parent.outputs.scores}}"}}
            ),
            "prep": _node("prep", {"d": "${{parent.inputs.data}}"}),
        }
    }
    steps = _plan(spec)
    assert [step["node"] for step in steps] == ["prep", "score"]
    prep, score = steps
    assert prep["inputs"] == {"d": {"kind": "data", "type": "uri_folder", "uri": "in/"}}
    assert prep["outputs"] == {"o": f"tmp/{prep['job_name']}/o/"}
    assert score["inputs"] == {
        "p": {"kind": "step", "node": "prep", "output": "o"},
        "label": {"kind": "literal", "value": "x"},
    }
    assert score["outputs"] == {"s": "out/scores/"} and score["after"] == ["prep"]


def test_a_nested_pipeline_is_flattened_into_steps_named_by_their_path():
    inner = {
        "type": "pipeline",
        "inputs": {"raw": {"type": "uri_folder"}},
        "outputs": {"prepared": {}},
        "jobs": {
            "prep": _node("prep", {"d": "${{parent.inputs.raw}}"}, {"o": {"value": "${{parent.outputs.prepared}}"}})
        },
    }
    spec = {
        "jobs": {
            "stage": _node("inner", {"raw": "${{parent.inputs.data}}"}),
            "score": _node("score", {"p": "${{parent.jobs.stage.outputs.prepared}}"}),
        }
    }
    steps = _plan(spec, {**COMMANDS, "inner": inner}.get)
    assert [step["node"] for step in steps] == ["stage/prep", "score"]
    assert steps[0]["inputs"]["d"]["uri"] == "in/"
    assert steps[1]["inputs"]["p"] == {"kind": "step", "node": "stage/prep", "output": "o"}


def test_a_step_input_nothing_binds_and_a_cycle_are_refused():
    with pytest.raises(BindingError, match="jobs.prep.inputs.d"):
        _plan({"jobs": {"prep": _node("prep")}})
    cycle = {
        "jobs": {
            "a": _node("score", {"p": "${{parent.jobs.b.outputs.s}}"}),
            "b": _node("score", {"p": "${{parent.jobs.a.outputs.s}}"}),
        }
    }
    with pytest.raises(BindingError, match="cycle"):
        _plan(cycle)
    with pytest.raises(BindingError, match="missing"):
        _plan({"jobs": {"x": _node("missing")}})
