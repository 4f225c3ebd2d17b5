"""Turn the YAML files ``az ml`` takes into azure-ai-ml entities, checked before anything is sent.

A batch deployment YAML comes in two forms: the current one with a ``settings:`` block (a model batch
deployment) and the older flat one with the same settings at top level. The SDK has one loader for
each and rejects the other form's fields, so the form is chosen by the presence of ``settings``.
Unknown fields become an :class:`AzureMLConfigurationError` naming the field.

YAML aliases share one node however often they are used, so a 570-byte file of nested anchors can stand
for billions of values that the SDK then expands while serialising. Files are therefore measured as the
tree they expand to, and refused past ``MAX_EXPANDED_NODES``, before the SDK sees them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from airflow_batchml.exceptions import AzureMLConfigurationError

_UNKNOWN_FIELD = re.compile(r"\{.*\}", re.S)
# A real endpoint or deployment file is a few hundred nodes; aliases may not make it more than this.
MAX_EXPANDED_NODES = 10_000
# Azure's REST spec types these as string-to-string maps (ARM tags, a deployment's environment variables).
_STRING_MAPS = ("tags", "environment_variables", "settings.environment_variables")


def read_yaml(path: str | Path, field: str) -> dict[str, Any]:
    """Read a YAML mapping with the safe loader; a missing or malformed file names ``field``."""
    path = Path(path)
    if not path.is_file():
        raise AzureMLConfigurationError(field, f"file {str(path)!r} does not exist")
    try:
        loader = yaml.SafeLoader(path.read_text())  # the reader checks characters already here
    except yaml.YAMLError as err:
        raise AzureMLConfigurationError(field, f"{path} is not valid YAML: {err}") from err
    try:
        node = loader.get_single_node()
        _check_expansion(node, path, field)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        raise AzureMLConfigurationError(field, f"{path} is not valid YAML: {err}") from err
    except RecursionError as err:
        raise AzureMLConfigurationError(field, f"{path} is nested too deeply") from err
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise AzureMLConfigurationError(field, f"{path} must hold a mapping at the top level")
    for name in _STRING_MAPS:
        check_string_map(_dig(data, name), f"{field}.{name}")
    return data


def check_string_map(value: Any, field: str) -> None:
    """Azure takes only strings in tags and environment variables; anything else is refused here."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise AzureMLConfigurationError(field, f"must be a mapping of strings, not {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise AzureMLConfigurationError(
                f"{field}.{key}", f"must be a string (quote it in YAML), not {type(item).__name__}"
            )


def check_entity_string_maps(entity: Any) -> None:
    """The same rule for entities built in Python (or YAML already loaded) as for YAML files."""
    for name in ("tags", "environment_variables"):
        check_string_map(getattr(entity, name, None), name)


def _dig(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _check_expansion(root: yaml.Node | None, path: Path, field: str) -> None:
    """Refuse a document whose aliases expand past MAX_EXPANDED_NODES, or refer to themselves."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise AzureMLConfigurationError(field, f"{path} has an alias that refers to itself")
        open_nodes.add(id(node))
        children = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        total = 1 + sum(size(child) for child in children)
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        if total > MAX_EXPANDED_NODES:
            raise AzureMLConfigurationError(
                field,
                f"{path} expands to more than {MAX_EXPANDED_NODES:,} values (an alias counts each time it is used)",
            )
        return total

    if root is not None:
        size(root)


def load_deployment(path: str | Path, field: str = "deployment") -> Any:
    """Load a batch deployment YAML in either form; the SDK entity keeps the YAML's folder as base path."""
    from azure.ai.ml.entities._load_functions import load_batch_deployment, load_model_batch_deployment

    data = read_yaml(path, field)
    loader = load_model_batch_deployment if "settings" in data or data.get("type") == "model" else load_batch_deployment
    return _load(loader, path, field)


def load_endpoint(path: str | Path, field: str = "endpoint") -> Any:
    from azure.ai.ml import load_batch_endpoint

    read_yaml(path, field)
    return _load(load_batch_endpoint, path, field)


def load_schedule(path: str | Path, field: str = "schedule") -> Any:
    from azure.ai.ml import load_schedule as sdk_load_schedule

    read_yaml(path, field)
    return _load(sdk_load_schedule, path, field)


def load_compute(path: str | Path, field: str = "compute") -> Any:
    from azure.ai.ml import load_compute as sdk_load_compute

    read_yaml(path, field)
    return _load(sdk_load_compute, path, field)


def _load(loader: Any, path: str | Path, field: str) -> Any:
    """Call an SDK loader and turn its marshmallow error into one that names the first bad field.

    The loaders only read the local file, yet a value of the wrong shape (``model: []``) can end deep in
    their schemas as an AttributeError or TypeError; whatever they raise is a problem with the file, so
    every error becomes a configuration error naming it rather than a stack trace from inside the SDK.
    """
    from marshmallow import ValidationError

    try:
        return loader(source=str(path))
    except ValidationError as err:
        raise AzureMLConfigurationError(f"{field} ({path})", _first_problem(str(err))) from err
    except Exception as err:
        problem = f"the SDK could not read it ({type(err).__name__}: {_first_problem(str(err))})"
        raise AzureMLConfigurationError(f"{field} ({path})", problem) from err


def _first_problem(message: str) -> str:
    """Pull ``field: problem`` out of the SDK's 'Validation for ... failed: {json}' text."""
    first_line = next(iter(message.strip().splitlines()), "no details")
    match = _UNKNOWN_FIELD.search(message)
    if not match:
        return first_line
    try:
        problems = json.loads(match.group(0))
    except json.JSONDecodeError:
        return first_line
    return "; ".join(_flatten(problems))


def _flatten(problems: Any, prefix: str = "") -> list[str]:
    if isinstance(problems, dict):
        return [line for key, value in problems.items() for line in _flatten(value, f"{prefix}{key}.")]
    if isinstance(problems, list):
        return [f"{prefix.rstrip('.')}: {'; '.join(str(p) for p in problems)}"]
    return [f"{prefix.rstrip('.')}: {problems}"]


def strip_azureml_prefix(compute: str | None) -> str | None:
    """``azureml:cluster`` -> ``cluster``: a Python-built deployment otherwise sends a wrong compute id."""
    if compute and compute.startswith("azureml:") and "/" not in compute:
        return compute.removeprefix("azureml:")
    return compute
