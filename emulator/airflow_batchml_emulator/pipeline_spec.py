"""Pipeline component jobs: bind a scoring request to a pipeline component and plan its steps (no HTTP, no I/O).

A pipeline component deployment's invoke carries ``inputData`` (``UriFolder``/``UriFile`` with a ``uri``, or
``Literal`` with a ``value``) and ``outputData`` (named ``UriFolder``/``UriFile`` outputs with a ``uri``), as
learn.microsoft.com "How to deploy pipelines with batch endpoints" shows. They are checked against the
component's declared inputs and outputs before a job exists: an undeclared name, a literal of the wrong
type, a data input where a literal is declared (or the reverse) and a missing required input are refused,
the less convenient reading where the docs are silent. Declared defaults apply; an output not given goes to
``azureml://datastores/<default_datastore>/paths/azureml/<job name>/<output name>/``.

The plan is a list of command steps in dependency order (declaration order breaks ties), each with its
command, code, environment and bindings: a literal (a string, as the REST spec's ``LiteralJobInput.value``
is), a data URI, or another step's output. Step outputs not bound to a pipeline output go to
``azureml/<step job name>/<output name>/`` of the default datastore, as Azure writes intermediate outputs.

Nested pipeline components (a node whose component is itself ``type: pipeline``, which azure-ai-ml's YAML
expresses) are flattened: their command steps run as steps of the outer job, named ``<outer node>/<inner
node>``; Azure runs them under a child pipeline run instead. Only ``command`` nodes run; a deployment whose
pipeline holds any other node type (parallel, spark, sweep, data transfer...) is refused when it is created.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_batchml_emulator.errors import BindingError

PARENT_INPUT = re.compile(r"\$\{\{\s*parent\.inputs\.([A-Za-z0-9_]+)\s*\}\}")
PARENT_OUTPUT = re.compile(r"\$\{\{\s*parent\.outputs\.([A-Za-z0-9_]+)\s*\}\}")
STEP_OUTPUT = re.compile(r"\$\{\{\s*parent\.jobs\.([A-Za-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\s*\}\}")
DATA_TYPES = {"uri_folder": "UriFolder", "uri_file": "UriFile"}
LITERAL_TYPES = ("string", "number", "integer", "boolean")
RUNNABLE_NODES = ("command", "pipeline")

Lookup = Callable[[str], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Binding:
    """What a step input receives: ``literal`` (``value``), ``data`` (``type``, ``uri``) or ``step`` output."""

    kind: str
    value: str = ""
    type: str = ""
    uri: str = ""
    node: str = ""
    output: str = ""

    def to_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.__dict__.items() if value}


def bind_inputs(spec: dict[str, Any], input_data: dict[str, Any]) -> dict[str, Binding]:
    """The request's ``inputData`` checked against the component's inputs, with defaults for the rest."""
    declared = spec.get("inputs") or {}
    for key in input_data:
        if key not in declared:
            raise BindingError(f"inputData.{key}", f"the component declares no such input; it has {sorted(declared)}")
    bound: dict[str, Binding] = {}
    for name, declaration in declared.items():
        item = input_data.get(name)
        if item is not None:
            bound[name] = _bind_input(name, declaration or {}, item)
        elif (declaration or {}).get("default") is not None:
            bound[name] = Binding("literal", value=literal_text((declaration or {})["default"]))
        elif not _is_optional(declaration or {}):
            raise BindingError(f"inputData.{name}", "the component requires this input and it has no default")
    return bound


def _bind_input(name: str, declaration: dict[str, Any], item: Any) -> Binding:
    field = f"inputData.{name}"
    declared_type = str(declaration.get("type", "")).lower()
    kind = str(item.get("jobInputType", "")).lower() if isinstance(item, dict) else ""
    if declared_type in LITERAL_TYPES:
        if kind != "literal":
            raise BindingError(field, f"the component declares a {declared_type} input: send jobInputType Literal")
        return Binding("literal", value=check_literal(field, declared_type, item.get("value")))
    if declared_type not in DATA_TYPES:
        raise BindingError(field, f"input type {declared_type!r} is not supported here; use uri_folder or uri_file")
    if kind != DATA_TYPES[declared_type].lower() or not isinstance(item.get("uri"), str) or not item["uri"]:
        raise BindingError(
            field, f"the component declares {declared_type}: send jobInputType {DATA_TYPES[declared_type]} with a uri"
        )
    return Binding("data", type=declared_type, uri=item["uri"])


def check_literal(field: str, declared_type: str, value: Any) -> str:
    """A literal as the command line receives it (a string); refused unless it reads as ``declared_type``."""
    if value is None or isinstance(value, dict | list):
        raise BindingError(field, f"expected a {declared_type} value, got {value!r}")
    text = literal_text(value)
    if declared_type == "boolean":
        if text.lower() not in ("true", "false"):
            raise BindingError(field, f"expected a boolean (true or false), got {value!r}")
        return text.capitalize()
    if isinstance(value, bool) and declared_type in ("number", "integer"):
        raise BindingError(field, f"expected a {declared_type}, got the boolean {value!r}")
    if declared_type == "integer" and not re.fullmatch(r"[+-]?[0-9]+", text):
        raise BindingError(field, f"expected an integer, got {value!r}")
    if declared_type == "number":
        try:
            float(text)
        except ValueError:
            raise BindingError(field, f"expected a number, got {value!r}") from None
    return text


def literal_text(value: Any) -> str:
    """How a literal reaches the command line: as text, booleans as Azure writes them in specs (``True``)."""
    return str(value)


def _is_optional(declaration: dict[str, Any]) -> bool:
    return str(declaration.get("optional", "false")).lower() == "true"


def bind_outputs(
    spec: dict[str, Any], output_data: dict[str, Any], default_uri: Callable[[str], str]
) -> dict[str, dict[str, str]]:
    """Every declared output with its location: the request's, else ``default_uri(name)``."""
    declared = spec.get("outputs") or {}
    for key in output_data:
        if key not in declared:
            raise BindingError(f"outputData.{key}", f"the component declares no such output; it has {sorted(declared)}")
    bound = {}
    for name, declaration in declared.items():
        declared_type = str((declaration or {}).get("type", "uri_folder")).lower()
        if declared_type not in DATA_TYPES:
            raise BindingError(f"outputs.{name}", f"output type {declared_type!r} is not supported here")
        item = output_data.get(name)
        if item is None:
            bound[name] = {"jobOutputType": DATA_TYPES[declared_type], "uri": default_uri(name)}
            continue
        kind = str(item.get("jobOutputType", "")).lower() if isinstance(item, dict) else ""
        if kind != DATA_TYPES[declared_type].lower() or not isinstance(item.get("uri"), str) or not item["uri"]:
            raise BindingError(
                f"outputData.{name}",
                f"the component declares {declared_type}: send jobOutputType {DATA_TYPES[declared_type]} with a uri",
            )
        bound[name] = {"jobOutputType": DATA_TYPES[declared_type], "uri": item["uri"]}
    return bound


@dataclass
class _Scope:
    """What ``${{parent...}}`` means inside one pipeline: its inputs, outputs and node-name prefix."""

    inputs: dict[str, Binding]
    outputs: dict[str, str]
    prefix: str = ""


def plan_steps(
    spec: dict[str, Any],
    inputs: dict[str, Binding],
    outputs: dict[str, dict[str, str]],
    lookup: Lookup,
    default_output: Callable[[str, str], str],
) -> list[dict[str, Any]]:
    """The command steps of a pipeline component, in dependency order, with every binding resolved.

    :param lookup: component id -> stored component spec (None when missing).
    :param default_output: (step job name, output name) -> the URI of an output not bound to the pipeline's.
    """
    scope = _Scope(inputs, {name: item["uri"] for name, item in outputs.items()})
    steps: list[dict[str, Any]] = []
    aliases: dict[tuple[str, str], tuple[str, str]] = {}
    _expand(spec, scope, lookup, steps, aliases, depth=0)
    for step in steps:
        for key, item in step["inputs"].items():
            source = (item.get("node", ""), item.get("output", ""))
            while item.get("kind") == "step" and source in aliases:
                source = aliases[source]
            if item.get("kind") == "step":
                step["inputs"][key] = {**item, "node": source[0], "output": source[1]}
        step["job_name"] = str(uuid.uuid4())
        for name, uri in list(step["outputs"].items()):
            step["outputs"][name] = uri or default_output(step["job_name"], name)
    return order_steps(steps)


MAX_NESTING = 8


def _expand(
    spec: dict[str, Any],
    scope: _Scope,
    lookup: Lookup,
    steps: list[dict[str, Any]],
    aliases: dict[tuple[str, str], tuple[str, str]],
    depth: int,
) -> None:
    """Append the command steps of ``spec`` to ``steps``; a nested pipeline's outputs become ``aliases`` of
    the inner steps' outputs that produce them."""
    if depth > MAX_NESTING:
        raise BindingError("jobs", f"pipeline components nest deeper than {MAX_NESTING} levels")
    for node_name, node in (spec.get("jobs") or {}).items():
        child = lookup(str(node.get("componentId", "")))
        if child is None:
            raise BindingError(f"jobs.{node_name}.componentId", f"component {node.get('componentId')} does not exist")
        name = f"{scope.prefix}{node_name}"
        node_inputs = {k: _node_input(scope, name, k, v) for k, v in (node.get("inputs") or {}).items()}
        node_inputs = {k: v for k, v in node_inputs.items() if v is not None}
        node_outputs = {k: _node_output(scope, v) for k, v in (node.get("outputs") or {}).items()}
        if child.get("type") == "pipeline":
            declared = child.get("inputs") or {}
            defaults = {
                k: Binding("literal", value=literal_text(d["default"]))
                for k, d in declared.items()
                if (d or {}).get("default") is not None and k not in node_inputs
            }
            inner = _Scope({**defaults, **node_inputs}, {k: v for k, v in node_outputs.items() if v}, f"{name}/")
            _expand(child, inner, lookup, steps, aliases, depth + 1)
            for output_name, (inner_node, inner_output) in _nested_output_sources(child).items():
                aliases[(name, output_name)] = (f"{name}/{inner_node}", inner_output)
            continue
        steps.append(_command_step(name, child, node_inputs, node_outputs))


def _node_input(scope: _Scope, node: str, key: str, item: Any) -> Binding | None:
    """A node input as bound in the pipeline: a parent input, another node's output, or a value of its own."""
    if not isinstance(item, dict):
        return Binding("literal", value=literal_text(item))
    value = item.get("value")
    if isinstance(value, str) and (match := PARENT_INPUT.fullmatch(value.strip())):
        return scope.inputs.get(match.group(1))  # an optional input not given binds nothing
    if isinstance(value, str) and (match := STEP_OUTPUT.fullmatch(value.strip())):
        return Binding("step", node=f"{scope.prefix}{match.group(1)}", output=match.group(2))
    kind = str(item.get("job_input_type", "literal")).lower()
    if kind in DATA_TYPES and item.get("uri"):
        return Binding("data", type=kind, uri=str(item["uri"]))
    if value is None:
        raise BindingError(f"jobs.{node}.inputs.{key}", "the binding has no value")
    return Binding("literal", value=literal_text(value))


def _node_output(scope: _Scope, item: Any) -> str:
    value = item.get("value") if isinstance(item, dict) else item
    if isinstance(value, str) and (match := PARENT_OUTPUT.fullmatch(value.strip())):
        return scope.outputs.get(match.group(1), "")
    return ""


def _nested_output_sources(child: dict[str, Any]) -> dict[str, tuple[str, str]]:
    sources = {}
    for node_name, node in (child.get("jobs") or {}).items():
        for output_name, item in (node.get("outputs") or {}).items():
            value = item.get("value") if isinstance(item, dict) else item
            if isinstance(value, str) and (match := PARENT_OUTPUT.fullmatch(value.strip())):
                sources[match.group(1)] = (node_name, output_name)
    return sources


def _command_step(
    name: str, component: dict[str, Any], inputs: dict[str, Binding], outputs: dict[str, str]
) -> dict[str, Any]:
    declared_inputs = component.get("inputs") or {}
    for key, declaration in declared_inputs.items():
        if key not in inputs and (declaration or {}).get("default") is not None:
            inputs[key] = Binding("literal", value=literal_text(declaration["default"]))
        elif key not in inputs and not _is_optional(declaration or {}):
            raise BindingError(f"jobs.{name}.inputs.{key}", "the step requires this input and nothing binds it")
    return {
        "node": name,
        "command": str(component.get("command") or ""),
        "code": str(component.get("code") or ""),
        "environment": str(component.get("environment") or ""),
        "environment_variables": dict(component.get("environment_variables") or {}),
        "inputs": {key: binding.to_dict() for key, binding in inputs.items()},
        "outputs": {key: outputs.get(key, "") for key in component.get("outputs") or {}},
    }


def order_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependency order (a step after the steps whose outputs it reads), declaration order otherwise."""
    by_node = {step["node"]: step for step in steps}
    names = list(by_node)
    for step in steps:
        reads = [item for item in step["inputs"].values() if item.get("kind") == "step"]
        for item in reads:
            if item["node"] not in by_node or item["output"] not in by_node[item["node"]]["outputs"]:
                raise BindingError(
                    f"jobs.{step['node']}", f"reads {item['node']}.outputs.{item['output']}, which no step produces"
                )
        step["after"] = sorted({item["node"] for item in reads}, key=names.index)
    ordered: list[dict[str, Any]] = []
    done: set[str] = set()
    while len(ordered) < len(steps):
        ready = [step for step in steps if step["node"] not in done and set(step["after"]) <= done]
        if not ready:
            raise BindingError("jobs", "the steps' inputs form a cycle")
        ordered.append(ready[0])
        done.add(ready[0]["node"])
    return ordered
