"""Component versions: the rules on top of the shared asset routes (``assets.py``), and component lookup.

As recorded (component/e2etests/test_component.pyTestComponenttest_simple_pipeline_component_create.json):
an anonymous component PUT answers 201 with an ``id`` under a version the service chose, not the one in
the URL (the service keeps one version per content, so identical content gets the same id back, still
with a 201); a pipeline component's ``componentSpec`` comes back without its ``jobs``; ``stage`` is
``Logged`` (anonymous) or ``Development``. Like a deployment, a component
naming code, an environment or a child component the workspace does not have is refused (400 UserError).

A component built from a pipeline job (``componentSpec.sourceJobId``, what azure-ai-ml sends for a
deployment's ``job_definition``) is supported for the pipeline jobs the emulator ran: batch jobs of a
pipeline component deployment. It takes that job's component (inputs, outputs and steps); any other job
is refused.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from airflow_batchml_emulator.errors import BadRequest, NotFound
from airflow_batchml_emulator.handlers.common import EmulatorContext, workspace_path

FAMILY = "components"
_REFERENCE_FIELDS = ("code", "environment")


def stored_version(ctx: EmulatorContext, name: str, version: str, properties: dict[str, Any]) -> tuple[str, dict]:
    """The version to store a component PUT under, and the properties to store; refuses broken references."""
    spec = properties.get("componentSpec")
    if not isinstance(spec, dict):
        raise BadRequest("properties.componentSpec: a component needs its spec (an object).", code="UserError")
    if spec.get("sourceJobId"):
        spec = _from_job(ctx, spec)
        properties = {**properties, "componentSpec": spec}
    _check_references(ctx, spec)
    if properties.get("isAnonymous") is True:
        content = {key: value for key, value in spec.items() if key not in ("name", "version")}
        version = str(uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(content, sort_keys=True)))
    return version, properties


def shown(properties: dict[str, Any]) -> dict[str, Any]:
    """A component version as the service answers it: a pipeline's steps stay on the service side, and the
    stage is ``Logged`` for an anonymous component, ``Development`` for a named one."""
    properties = {"stage": "Logged" if properties.get("isAnonymous") is True else "Development", **properties}
    spec = properties.get("componentSpec")
    if isinstance(spec, dict) and spec.get("type") == "pipeline":
        return {**properties, "componentSpec": {key: value for key, value in spec.items() if key != "jobs"}}
    return properties


def always_created(properties: dict[str, Any]) -> bool:
    """An anonymous component PUT answers 201 even when its content was there already (as recorded)."""
    return properties.get("isAnonymous") is True


def find_spec(ctx: EmulatorContext, component_id: str) -> dict[str, Any] | None:
    """The stored spec of ``.../components/<name>/versions/<v>`` (any id form), or None."""
    parts = workspace_path(str(component_id)).strip("/").split("/")
    if len(parts) != 4 or parts[0] != FAMILY or parts[2] != "versions":
        return None
    item = ctx.store.get(f"{FAMILY}.versions", "/".join(parts))
    return item.body["properties"].get("componentSpec") if item else None


def _check_references(ctx: EmulatorContext, spec: dict[str, Any]) -> None:
    from airflow_batchml_emulator.handlers.assets import find_version

    for field_name in _REFERENCE_FIELDS:
        reference = spec.get(field_name)
        known = not isinstance(reference, str) or "/workspaces/" not in reference
        if not known and find_version(ctx, workspace_path(reference)) is None:
            raise BadRequest(f"componentSpec.{field_name}: asset {reference} does not exist.", code="UserError")
    for node_name, node in (spec.get("jobs") or {}).items():
        component_id = node.get("componentId") if isinstance(node, dict) else None
        if not component_id or find_spec(ctx, component_id) is None:
            raise BadRequest(
                f"componentSpec.jobs.{node_name}.componentId: component {component_id} does not exist.",
                code="UserError",
            )


def _from_job(ctx: EmulatorContext, spec: dict[str, Any]) -> dict[str, Any]:
    """A pipeline component with the steps, inputs and outputs of the pipeline job ``sourceJobId`` names."""
    source = str(spec["sourceJobId"])
    job_name = source.removeprefix("azureml:").rstrip("/").rsplit("/jobs/", 1)[-1]
    job = ctx.store.get_job(job_name)
    if job is None:
        raise NotFound(f"componentSpec.sourceJobId: job {job_name} does not exist.", code="UserError")
    component = find_spec(ctx, str(job.spec.get("component_id", ""))) if job.spec.get("kind") == "pipeline" else None
    if component is None:
        raise BadRequest(
            f"componentSpec.sourceJobId: job {job_name} is not a pipeline job built from components "
            "(the emulator knows batch jobs of pipeline component deployments).",
            code="UserError",
        )
    kept = {key: component[key] for key in ("inputs", "outputs", "jobs", "description") if key in component}
    return {**spec, **kept, "type": "pipeline"}
