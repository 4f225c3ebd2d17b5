"""What one batch-endpoint invocation scores: its inputs, output locations and per-job overrides.

Plain data with validation and no SDK types, so the hook checks arguments before anything is sent and the
same values serialise into XCom and job keys. The accepted input forms (datastore paths, data assets, their
ARM ids, URLs, local paths, literals) and why each is sent as it is: ``docs/inputs-and-lineage.md``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_batchml.exceptions import AzureMLConfigurationError

INPUT_TYPES = ("uri_folder", "uri_file")
#: ``azureml://[subscriptions/<s>/resourcegroups/<g>/workspaces/<w>/]datastores/<store>/paths/<path>``;
#: use with ``fullmatch``. ``<path>`` is a URL path (percent-encoded, decoded once by Azure ML).
DATASTORE_URI = re.compile(
    r"azureml://(subscriptions/[^/]+/resourcegroups/[^/]+/workspaces/[^/]+/)?"
    r"datastores/(?P<store>[^/]+)/paths/(?P<path>.*)",
    re.I | re.S,
)
_DATA_ASSET = re.compile(r"azureml:[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+|@latest)")
_ARM_WORKSPACE = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<workspace>[^/]+)/"
)
#: A data asset version by ARM id; use with ``fullmatch``.
DATA_ASSET_ID = re.compile(rf"{_ARM_WORKSPACE}data/[^/]+/versions/[^/]+", re.I)
#: A data asset version by its workspace-GUID id; use with ``fullmatch``.
LOCATION_DATA_ASSET_ID = re.compile(
    r"azureml://locations/(?P<region>[^/]+)/workspaces/(?P<workspace_id>[^/]+)"
    r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)",
    re.I,
)
#: A datastore path by ARM id; use with ``fullmatch``.
ARM_DATASTORE_PATH = re.compile(rf"{_ARM_WORKSPACE}datastores/(?P<store>[^/]+)/paths/(?P<path>.*)", re.I | re.S)


@dataclass(frozen=True)
class BatchInput:
    """One input of a batch job: a URI (or local path) and whether it is a folder or a single file."""

    uri: str
    type: str = "uri_folder"

    @classmethod
    def parse(cls, value: Any, field: str = "inputs") -> BatchInput:
        """Accept a string, a ``{"uri"|"path": ..., "type": ...}`` dict or a BatchInput; infer the type."""
        if isinstance(value, BatchInput):
            return value
        if isinstance(value, dict):
            uri = value.get("uri", value.get("path"))
            kind = value.get("type") or (_infer_type(uri) if isinstance(uri, str) else None)
        else:
            uri, kind = value, _infer_type(value) if isinstance(value, str) else None
        if not isinstance(uri, str) or not uri.strip():
            raise AzureMLConfigurationError(
                field,
                f"{value!r} is not an input; give a datastore path, a data asset, an https URL or a local path",
            )
        if kind not in INPUT_TYPES:
            raise AzureMLConfigurationError(f"{field}.type", f"{kind!r} is not one of {', '.join(INPUT_TYPES)}")
        _check_form(uri, field)
        return cls(uri=datastore_uri(uri), type=kind)

    @property
    def is_local(self) -> bool:
        return _form(self.uri) == "local"


def datastore_uri(uri: str) -> str:
    """A datastore path's ARM id in the long ``azureml://subscriptions/...`` form; any other URI as it is."""
    match = ARM_DATASTORE_PATH.fullmatch(uri)
    if not match:
        return uri
    return (
        f"azureml://subscriptions/{match['sub']}/resourcegroups/{match['group']}/workspaces/{match['workspace']}"
        f"/datastores/{match['store']}/paths/{match['path']}"
    )


def _form(uri: str) -> str:
    if DATA_ASSET_ID.fullmatch(uri):
        return "data_asset_id"
    if ARM_DATASTORE_PATH.fullmatch(uri):
        return "arm_datastore"
    if LOCATION_DATA_ASSET_ID.fullmatch(uri):
        return "location_data_asset_id"
    try:
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        if scheme in ("https", "http"):
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:  # e.g. "http://[broken" (an unclosed IPv6 host) or "https://host:port/"
        return "bad_url"
    if uri.lower().startswith("azureml://"):
        return "datastore"
    if uri.lower().startswith("azureml:"):
        return "data_asset"
    if scheme in ("https", "http"):
        return "url"
    if scheme in ("", "file") or os.path.isabs(uri):
        return "local"
    return "unknown"


def _check_form(uri: str, field: str) -> None:
    form = _form(uri)
    if form == "datastore" and not DATASTORE_URI.fullmatch(uri):
        raise AzureMLConfigurationError(field, f"{uri!r} is not of the form azureml://datastores/<name>/paths/<path>")
    if form == "data_asset" and not _DATA_ASSET.fullmatch(uri):
        raise AzureMLConfigurationError(
            field, f"{uri!r} is not of the form azureml:<name>:<version> or azureml:<name>@latest"
        )
    if form == "bad_url":
        raise AzureMLConfigurationError(
            field, f"{uri!r} is not a valid URL (an unclosed '[' or a port that is no number)"
        )
    if form == "unknown":
        raise AzureMLConfigurationError(field, f"{uri!r} is not a datastore path, data asset, https URL or local path")
    if form == "local" and not os.path.exists(uri.removeprefix("file://")):
        raise AzureMLConfigurationError(
            field,
            f'local path {uri!r} does not exist (a string literal is given as {{"type": "string", "value": ...}})',
        )


def _infer_type(uri: str) -> str:
    """A local path says what it is; a remote one is a file when its last segment has a suffix."""
    if _form(uri) == "local":
        return "uri_file" if os.path.isfile(uri.removeprefix("file://")) else "uri_folder"
    if _form(uri) in ("data_asset", "data_asset_id", "bad_url") or uri.endswith("/"):
        return "uri_folder"
    return "uri_file" if PurePosixPath(urlsplit(uri).path).suffix else "uri_folder"


_INT_FIELDS = {
    "mini_batch_size": 1,
    "instance_count": 1,
    "max_retries": 0,
    "timeout": 1,
    "error_threshold": -1,
}


@dataclass(frozen=True)
class BatchJobOverrides:
    """Per-job settings that beat the deployment's (the ``az ml batch-endpoint invoke --set`` ones)."""

    mini_batch_size: int | None = None
    instance_count: int | None = None
    output_file_name: str | None = None
    max_retries: int | None = None
    timeout: int | None = None
    error_threshold: int | None = None

    @classmethod
    def parse(cls, value: Any, field: str = "overrides") -> BatchJobOverrides:
        """Validate a dict of overrides: known keys, whole numbers in range, a plain file name."""
        if value is None:
            return cls()
        if isinstance(value, BatchJobOverrides):
            return value
        if not isinstance(value, dict):
            raise AzureMLConfigurationError(field, f"must be a mapping of {', '.join(cls.__dataclass_fields__)}")
        unknown = sorted((key for key in value if key not in cls.__dataclass_fields__), key=str)
        if unknown:
            raise AzureMLConfigurationError(
                f"{field}.{unknown[0]}",
                f"is not an override; accepted: {', '.join(cls.__dataclass_fields__)}",
            )
        for key, minimum in _INT_FIELDS.items():
            number = value.get(key)
            if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < minimum):
                raise AzureMLConfigurationError(f"{field}.{key}", f"{number!r} is not a whole number >= {minimum}")
        name = value.get("output_file_name")
        if name is not None and (not isinstance(name, str) or not _is_plain_file_name(name)):
            raise AzureMLConfigurationError(f"{field}.output_file_name", f"{name!r} is not a plain file name")
        return cls(**value)

    def to_params_override(self) -> list[dict[str, Any]]:
        """The ``params_override`` entries azure-ai-ml's ``invoke`` turns into the job body."""
        keys = {
            "mini_batch_size": "mini_batch_size",
            "instance_count": "compute.instance_count",
            "output_file_name": "output_file_name",
            "max_retries": "retry_settings.max_retries",
            "timeout": "retry_settings.timeout",
            "error_threshold": "error_threshold",
        }
        return [{keys[name]: value} for name, value in asdict(self).items() if value is not None]

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}


def _is_plain_file_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(char in name for char in "/\\\0")


def check_output_path(path: Any, field: str = "output_path") -> str:
    """Return the output as sent: a datastore path that stays in its folder (an ARM id in its long form).

    Azure ML writes batch outputs only to registered datastores ("Jobs and input data for batch endpoints"),
    so a URL is refused here rather than by the service.
    """
    uri = datastore_uri(path) if isinstance(path, str) else None
    if uri is None or not DATASTORE_URI.fullmatch(uri):
        raise AzureMLConfigurationError(
            field,
            f"{path!r} is not a datastore path (azureml://datastores/<name>/paths/<path>, its "
            "azureml://subscriptions/... long form or its /subscriptions/... ARM id); "
            "Azure ML writes batch outputs only to datastores, not to URLs",
        )
    if ".." in unquote(urlsplit(uri).path).replace("\\", "/").split("/"):
        raise AzureMLConfigurationError(field, f"{path!r} holds a '..' segment; an output may not leave its folder")
    return uri


def output_type(path: str) -> str:
    """An output path names a file when its last segment has a suffix, else a folder."""
    return "uri_file" if PurePosixPath(urlsplit(path).path).suffix else "uri_folder"


LITERAL_TYPES = ("integer", "number", "boolean", "string")
#: A component port name, as Azure ML's component schema has it (a Python identifier).
_PORT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class JobLiteral:
    """A literal input of a pipeline component deployment: a value and its component input type."""

    value: bool | int | float | str
    type: str

    @classmethod
    def parse(cls, value: Any, field: str = "inputs") -> JobLiteral:
        """A plain int, float or bool, or ``{"type": <literal type>, "value": ...}``."""
        if isinstance(value, dict):
            if set(value) != {"type", "value"} or value["type"] not in LITERAL_TYPES:
                raise AzureMLConfigurationError(
                    field,
                    f'{value!r} is not a literal; give {{"type": one of {", ".join(LITERAL_TYPES)}, "value": ...}}',
                )
            literal = cls(value["value"], value["type"])
        else:
            kind = "boolean" if isinstance(value, bool) else "integer" if isinstance(value, int) else "number"
            literal = cls(value, kind)
        if not _is_literal_of(literal.value, literal.type):
            raise AzureMLConfigurationError(field, f"{literal.value!r} is not a finite {literal.type}")
        return literal

    def fits(self, port_type: str) -> bool:
        """Whether a component input of ``port_type`` takes this literal (an integer is a number too)."""
        return port_type == self.type or (port_type == "number" and self.type == "integer")


def _is_literal_of(value: Any, kind: str) -> bool:
    if kind == "boolean" or isinstance(value, bool):
        return kind == "boolean" and isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def parse_job_input(value: Any, field: str = "inputs") -> BatchInput | JobLiteral:
    """A data input (any :class:`BatchInput` form) or a literal (numbers, booleans, the explicit form)."""
    if isinstance(value, (BatchInput, JobLiteral)):
        return value
    if isinstance(value, (bool, int, float)) or (isinstance(value, dict) and "value" in value):
        return JobLiteral.parse(value, field)
    return BatchInput.parse(value, field)


def parse_outputs(value: Any, field: str = "outputs") -> dict[str, str]:
    """Named outputs: ``{"<output name>": "azureml://datastores/<name>/paths/<path>"}`` (None: none)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AzureMLConfigurationError(field, "must be a mapping of output name -> datastore path")
    for name in value:
        if not isinstance(name, str) or not _PORT_NAME.fullmatch(name):
            raise AzureMLConfigurationError(field, f"{name!r} is not an output name (letters, digits, underscores)")
    return {name: check_output_path(path, f"{field}.{name}") for name, path in value.items()}


def is_one_input(value: Any) -> bool:
    """Whether ``inputs`` is one data input rather than a mapping of input names.

    A mapping is one input when it holds ``uri`` (a change record carries more keys beside it), or when it is
    exactly ``{"path": ..., "type": ...}``; so a pipeline input may itself be named ``path``.
    """
    if not isinstance(value, Mapping):
        return True
    return "uri" in value or ("path" in value and set(value) <= {"path", "type"})


@dataclass(frozen=True)
class ComponentInput:
    """One input a pipeline component declares: its type and whether an invocation must supply it."""

    type: str
    required: bool


@dataclass(frozen=True)
class ComponentPorts:
    """What a pipeline component declares, so an invocation is checked before it is submitted."""

    component: str
    inputs: Mapping[str, ComponentInput]
    outputs: Mapping[str, str]

    def check(self, inputs: Mapping[str, BatchInput | JobLiteral], outputs: Mapping[str, str]) -> None:
        """Every input and output declared, every required input given, every literal of its input's type."""
        for name, value in inputs.items():
            port = self.inputs.get(name)
            if port is None:
                raise AzureMLConfigurationError(
                    f"inputs.{name}", f"is not an input of component {self.component}; it has {_names(self.inputs)}"
                )
            _check_input_kind(value, port, f"inputs.{name}", self.component)
        for name, port in self.inputs.items():
            if port.required and name not in inputs:
                raise AzureMLConfigurationError(
                    f"inputs.{name}", f"component {self.component} requires it ({port.type}, no default, not optional)"
                )
        for name in outputs:
            if name not in self.outputs:
                raise AzureMLConfigurationError(
                    f"outputs.{name}", f"is not an output of component {self.component}; it has {_names(self.outputs)}"
                )


def _check_input_kind(value: BatchInput | JobLiteral, port: ComponentInput, field: str, component: str) -> None:
    if port.type not in LITERAL_TYPES:
        if isinstance(value, JobLiteral):
            raise AzureMLConfigurationError(
                field, f"component {component} takes data ({port.type}) here, not a literal"
            )
        return
    if isinstance(value, BatchInput):
        example = (
            '{"type": "string", "value": "..."}: a plain string is a data URI' if port.type == "string" else "a value"
        )
        raise AzureMLConfigurationError(field, f"component {component} takes type {port.type} here; give {example}")
    if not value.fits(port.type):
        raise AzureMLConfigurationError(
            field, f"{value.value!r} is of type {value.type}; component {component} takes type {port.type} here"
        )


def _names(ports: Mapping[str, Any]) -> str:
    return ", ".join(sorted(ports)) or "none"


def check_model_job(inputs: Mapping[str, BatchInput | JobLiteral], outputs: Mapping[str, str], deployment: str) -> None:
    """A model deployment scores exactly one data input into one output (Azure's batch input rules)."""
    for name, value in inputs.items():
        if isinstance(value, JobLiteral):
            raise AzureMLConfigurationError(
                f"inputs.{name}", f"{deployment} is a model deployment, which takes data, not literals"
            )
    if len(inputs) > 1:
        raise AzureMLConfigurationError(
            "inputs",
            f"{deployment} is a model deployment, which takes exactly one input; got {', '.join(inputs)}",
        )
    if outputs:
        raise AzureMLConfigurationError(
            "outputs", f"{deployment} is a model deployment, which writes one output; give output_path instead"
        )
