"""The types of batch settings (an endpoint's defaults, a deployment's settings, a scoring request's
overrides), checked on arrival.

Azure answers a wrong-typed field with a 400 naming it. Unchecked, ``miniBatchSize: "abc"`` would reach
the job spec (a 500) or the engine (a job failing with an internal TypeError) instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from airflow_batchml_emulator.errors import BadRequest

Check = tuple[str, Callable[[Any], bool]]


def _integer(minimum: int) -> Check:
    return f"an integer >= {minimum}", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


STRING: Check = ("a string", lambda v: isinstance(v, str))
OBJECT: Check = ("an object", lambda v: isinstance(v, dict))
STRING_MAP: Check = (
    "an object of strings",
    lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
)

# A parent comes before its children: a child is looked up only inside a parent already known to be an object.
_SHARED: dict[str, Check] = {
    "miniBatchSize": _integer(1),
    "errorThreshold": _integer(-1),
    "loggingLevel": STRING,
    "outputFileName": STRING,
    "retrySettings": OBJECT,
    "retrySettings.maxRetries": _integer(0),
    "environmentVariables": STRING_MAP,
}
DEPLOYMENT_FIELDS: dict[str, Check] = {
    **_SHARED,
    "maxConcurrencyPerInstance": _integer(1),
    "outputAction": STRING,
    "resources": OBJECT,
    "resources.instanceCount": _integer(1),
    "model": OBJECT,
    "model.assetId": STRING,
    "codeConfiguration": OBJECT,
    "codeConfiguration.codeId": STRING,
    "codeConfiguration.scoringScript": STRING,
    "environmentId": STRING,
}
ENDPOINT_FIELDS: dict[str, Check] = {"defaults": OBJECT, "defaults.deploymentName": STRING}
REQUEST_FIELDS: dict[str, Check] = {
    **_SHARED,
    "compute": OBJECT,
    "compute.instanceCount": _integer(1),
    "inputData": OBJECT,
    "outputData": OBJECT,
    "properties": OBJECT,
}


def check_types(values: dict[str, Any], fields: dict[str, Check], prefix: str = "") -> None:
    """Raise a 400 naming the first field (as ``prefix`` + its dotted path) whose value has the wrong type.

    Absent and null fields pass: the deployment's value or Azure's default applies.
    """
    for path, (expected, check) in fields.items():
        value = _lookup(values, path)
        if value is not None and not check(value):
            shown = json.dumps(value)[:80]
            raise BadRequest(f"{prefix}{path}: expected {expected}, got {shown}.", code="UserError")


def _lookup(values: dict[str, Any], path: str) -> Any:
    parent, _, key = path.rpartition(".")
    container = values.get(parent) if parent else values
    return container.get(key) if isinstance(container, dict) else None
