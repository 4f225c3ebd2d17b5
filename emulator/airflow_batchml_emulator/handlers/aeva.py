"""What the v1 pipelines service ("AEVA") routes share: entity envelopes, statuses, errors and URLs.

Source for every v1 route and body: azureml-pipeline-core 1.62.0 (PyPI), its generated REST client
``azureml/pipeline/core/_restclients/aeva/aml_pipelines_api10.py`` (routes under
``/pipelines/v1.0/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.MachineLearningServices/
workspaces/{w}/``) and ``.../aeva/models/`` (PascalCase keys). Entities carry ``Id``, ``Etag``,
``CreatedDate``, ``LastModifiedDate`` and ``EntityStatus`` (``Active``, ``Deprecated``, ``Disabled``;
``service_caller_base.entity_status_from_enum`` also reads the older ``0``/``1``/``2``, so strings are
what the service now sends). Errors are ASP.NET's ``{"Error": {"Code", "Message"}}``
(``models/error_response.py``, ``models/root_error.py``), not ARM's lower-case body.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request

from airflow_batchml_emulator.errors import AevaError
from airflow_batchml_emulator.handlers.common import EmulatorContext
from airflow_batchml_emulator.state import Resource

ACTIVE = "Active"
DISABLED = "Disabled"
ENTITY_STATUSES = (ACTIVE, "Deprecated", DISABLED)


def not_found(kind: str, entity_id: str) -> AevaError:
    return AevaError(404, "NotFound", f"{kind} {entity_id} was not found in this workspace.")


def bad_request(message: str) -> AevaError:
    return AevaError(400, "BadArgument", message)


def v1_base(ctx: EmulatorContext) -> str:
    """``<pipelines service>/pipelines/v1.0<workspace id>``; the service is the emulator's own host."""
    return f"{ctx.base_url}/pipelines/v1.0{ctx.workspace_id}"


def new_id() -> str:
    return str(uuid.uuid4())


def entity(resource: Resource, fields: dict[str, Any]) -> dict[str, Any]:
    """An entity body: ``fields`` plus the envelope every v1 entity carries."""
    return {
        **fields,
        "Id": resource.name,
        "Etag": f'"{uuid.uuid5(uuid.NAMESPACE_URL, resource.path + resource.updated_at)}"',
        "CreatedDate": resource.created_at,
        "LastModifiedDate": resource.updated_at,
        "EntityStatus": resource.body.get("status", ACTIVE),
    }


def active_only(request: Request) -> bool:
    """``activeOnly`` as a list query sends it; absent means the SDK's default, ``True``."""
    value = request.query_params.get("activeOnly", "true").lower()
    if value not in ("true", "false"):
        raise bad_request(f"activeOnly must be true or false; got {value}.")
    return value == "true"


def entity_status(value: Any, field: str) -> str:
    if value not in ENTITY_STATUSES:
        raise bad_request(f"{field} must be one of {', '.join(ENTITY_STATUSES)}; got {value!r}.")
    return value


def json_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(f"The request body of {what} must be a JSON object.")
    return body
