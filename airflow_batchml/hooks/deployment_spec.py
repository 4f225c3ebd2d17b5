"""Turn the YAML files ``az ml`` takes into azure-ai-ml entities, checked before anything is sent.

A batch deployment YAML comes in three forms: a pipeline component deployment (``type: pipeline``), the
current model deployment with a ``settings:`` block, and the older flat one with the same settings at top
level. The SDK has one loader for each and rejects the other forms' fields, so the form is chosen by
``type`` and then by the presence of ``settings``. Unknown fields become an
:class:`AzureMLConfigurationError` naming the field.

The SDK's pipeline loader accepts a deployment without a component, reports a missing component file as
"provide an azureml: id", and keeps unknown keys of a pipeline component; those are checked here first,
with the settings Azure documents for pipeline jobs ("Attributes of the settings key").

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
from airflow_batchml.hooks.sdk_private import deployment_loaders, schedule_loader

_UNKNOWN_FIELD = re.compile(r"\{.*\}", re.S)
# A real endpoint or deployment file is a few hundred nodes; aliases may not make it more than this.
MAX_EXPANDED_NODES = 10_000
# Azure's REST spec types these as string-to-string maps (ARM tags, a deployment's environment variables).
_STRING_MAPS = ("tags", "environment_variables", "settings.environment_variables")
#: A pipeline deployment's settings: the pipeline job settings Azure documents, with their types.
PIPELINE_SETTINGS: dict[str, type] = {
    "default_compute": str,
    "default_datastore": str,
    "continue_on_step_failure": bool,
    "force_rerun": bool,
}
# The pipeline component YAML keys (Microsoft's schema reference, plus the SDK's is_deterministic).
_PIPELINE_COMPONENT_KEYS = frozenset({
    "$schema", "type", "name", "version", "display_name", "description", "tags", "settings",
    "jobs", "inputs", "outputs", "is_deterministic",
})  # fmt: skip


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
    """Load a batch deployment YAML in any form; the SDK entity keeps the YAML's folder as base path."""
    from azure.ai.ml import load_batch_deployment

    load_model_batch_deployment, load_pipeline_component_batch_deployment = deployment_loaders()

    data = read_yaml(path, field)
    if data.get("type") == "pipeline":
        _check_pipeline_document(data, Path(path), field)
        return check_pipeline_deployment(_load(load_pipeline_component_batch_deployment, path, field), field)
    loader = load_model_batch_deployment if "settings" in data or data.get("type") == "model" else load_batch_deployment
    return _load(loader, path, field)


def _check_pipeline_document(data: dict[str, Any], path: Path, field: str) -> None:
    """A pipeline deployment names its component (or job); a local component file exists and is well formed."""
    component = data.get("component")
    if component is None and data.get("job_definition") is None:
        raise AzureMLConfigurationError(
            f"{field}.component",
            "is required: a local pipeline component YAML, azureml:<name>:<version>, or job_definition instead",
        )
    if isinstance(component, str) and not component.startswith("azureml:"):
        check_pipeline_component_file(path.parent / component, f"{field}.component")


def check_pipeline_component_file(path: Path, field: str) -> None:
    """A local pipeline component: a YAML mapping of documented keys whose local step files exist."""
    from azure.ai.ml import load_component

    data = read_yaml(path, field)
    unknown = sorted(set(data) - _PIPELINE_COMPONENT_KEYS, key=str)
    if unknown:
        raise AzureMLConfigurationError(
            f"{field}.{unknown[0]}",
            f"is not a pipeline component key; accepted: {', '.join(sorted(_PIPELINE_COMPONENT_KEYS))}",
        )
    if data.get("type", "pipeline") != "pipeline":
        raise AzureMLConfigurationError(f"{field}.type", f"{data['type']!r} is not 'pipeline'")
    jobs = data.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise AzureMLConfigurationError(f"{field}.jobs", "must be a mapping of at least one step")
    for step, job in jobs.items():
        step_component = job.get("component") if isinstance(job, dict) else None
        if isinstance(step_component, str) and not step_component.startswith("azureml:"):
            _check_step_component(path.parent / step_component, f"{field}.jobs.{step}.component")
    _load(load_component, path, field)


def _check_step_component(path: Path, field: str) -> None:
    data = read_yaml(path, field)
    if data.get("type") == "pipeline":
        check_pipeline_component_file(path, field)
        return
    code = data.get("code")
    local = isinstance(code, str) and "://" not in code and not code.startswith(("azureml:", "git+"))
    if local and not (path.parent / code).exists():
        raise AzureMLConfigurationError(f"{field}.code", f"folder {str(path.parent / code)!r} does not exist")


def check_pipeline_deployment(deployment: Any, field: str = "deployment") -> Any:
    """Check a pipeline deployment entity's component and settings; settings in the form sent."""
    if deployment.component is None and deployment.job_definition is None:
        raise AzureMLConfigurationError(f"{field}.component", "is required (or job_definition)")
    deployment.settings = check_pipeline_settings(deployment.settings, f"{field}.settings")
    return deployment


def check_pipeline_settings(settings: Any, field: str = "settings") -> dict[str, Any] | None:
    """Known keys of the documented types; compute and datastore as bare names (``azureml:`` stripped)."""
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise AzureMLConfigurationError(field, f"must be a mapping of {', '.join(PIPELINE_SETTINGS)}")
    checked = {}
    for key, value in settings.items():
        kind = PIPELINE_SETTINGS.get(key)
        if kind is None:
            raise AzureMLConfigurationError(
                f"{field}.{key}", f"is not a pipeline deployment setting; accepted: {', '.join(PIPELINE_SETTINGS)}"
            )
        if not isinstance(value, kind) or value == "":
            raise AzureMLConfigurationError(f"{field}.{key}", f"{value!r} is not a {kind.__name__}")
        checked[key] = strip_azureml_prefix(value) if kind is str else value
    return checked


def load_endpoint(path: str | Path, field: str = "endpoint") -> Any:
    from azure.ai.ml import load_batch_endpoint

    read_yaml(path, field)
    return _load(load_batch_endpoint, path, field)


def load_schedule(path: str | Path, field: str = "schedule") -> Any:
    read_yaml(path, field)
    return _load(schedule_loader(), path, field)


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
