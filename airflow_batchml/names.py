"""Azure ML naming rules, checked locally so a bad name fails before any remote call.

The rules are the documented ones: endpoint and deployment names are 3-32 characters that start with
a letter and hold letters, digits and hyphens; AmlCompute cluster names are 3-24 characters that start
with a letter and hold letters, digits and hyphens ("Create an Azure Machine Learning compute cluster",
and the service's own message for a bad compute name); job, schedule and experiment names allow
underscores and up to 255 characters.
"""

from __future__ import annotations

import re

from airflow_batchml.exceptions import AzureMLConfigurationError

_LONG_NAME = (
    re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}"),
    "1-255 characters: letters, digits, hyphens and underscores, starting with a letter or digit",
)
_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "endpoint": (
        re.compile(r"[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]"),
        "3-32 characters: letters, digits and hyphens, starting with a letter and not ending with a hyphen",
    ),
    "deployment": (
        re.compile(r"[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]"),
        "3-32 characters: letters, digits and hyphens, starting with a letter and not ending with a hyphen",
    ),
    "compute": (
        re.compile(r"[A-Za-z][A-Za-z0-9-]{2,23}"),
        "3-24 characters: letters, digits and hyphens, starting with a letter",
    ),
    "job": _LONG_NAME,
    "schedule": _LONG_NAME,
    "experiment": _LONG_NAME,
}


def check_name(kind: str, value: object, field: str | None = None) -> str:
    """Return ``value`` if it is a valid ``kind`` name, else raise naming ``field`` and the rule."""
    pattern, rule = _RULES[kind]
    field = field or f"{kind}_name"
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise AzureMLConfigurationError(field, f"{value!r} is not a valid {kind} name ({rule})")
    return value
