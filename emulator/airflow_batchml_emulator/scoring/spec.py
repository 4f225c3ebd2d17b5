"""What a batch scoring job is: its settings (``BatchJobSpec``), its statuses and the ways it fails.

The server builds a spec from the deployment merged with the invoke's overrides and persists it as JSON
(``to_dict``/``from_dict``); the engine only reads it. Defaults are Azure ML's batch deployment defaults.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DATASTORE = "workspaceblobstore"
LOGGING_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50}
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")


class JobStatus:
    """Job statuses exactly as Azure ML spells them, and the sets the engine and its callers test.

    A batch job starts ``Preparing`` (recorded: the scoring POST answers it), and stays so while it waits
    for a slot to run in. ``NotStarted`` and ``Queued`` are only found in jobs stored by
    earlier versions of the emulator.
    """

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"

    TERMINAL_STATUSES = frozenset({COMPLETED, FAILED, CANCELED})
    ACTIVE_STATUSES = frozenset({NOT_STARTED, QUEUED, PREPARING, RUNNING, FINALIZING})


class OutputAction:
    """The deployment's ``output_action`` values, as the wire spells them."""

    APPEND_ROW = "append_row"
    SUMMARY_ONLY = "summary_only"

    ALL = frozenset({APPEND_ROW, SUMMARY_ONLY})


class JobError(Exception):
    """A job failure with the error code and message the job's status carries.

    Raised anywhere in a job run; the engine turns it into ``Failed`` with ``{"code", "message"}``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_error(self) -> dict[str, str]:
        """The error body the reporter records."""
        return {"code": self.code, "message": self.message}


class ErrorCode:
    """Error codes of failed jobs: one per cause, so a caller can tell them apart without parsing text."""

    INVALID_SPEC = "InvalidJobSpec"
    SCRIPT_NOT_FOUND = "ScoringScriptNotFound"
    SCRIPT_INVALID = "ScoringScriptInvalid"
    INIT_FAILED = "ScoringScriptInitFailed"
    INPUT_NOT_FOUND = "InputNotFound"
    INPUT_UNREADABLE = "InputUnreadable"
    OUTPUT_EXISTS = "OutputAlreadyExists"
    STORAGE = "StorageError"
    ERROR_THRESHOLD = "ErrorThresholdExceeded"
    ALL_FAILED = "AllMiniBatchesFailed"
    INTERNAL = "InternalError"
    USER_ERROR = "UserError"  # Azure's code for a pipeline step (user process) that failed, and its pipeline


def is_plain_file_name(name: object) -> bool:
    """A file name that stays in its folder: no separator, not ``.`` or ``..``, not empty."""
    return isinstance(name, str) and name not in ("", ".", "..") and not any(c in name for c in "/\\\0")


@dataclass
class BatchJobSpec:
    """One batch scoring job: the deployment's settings with the invoke's overrides already applied.

    :param name: the job name (deterministic; the output folder defaults to it).
    :param code_uri: the scoring code folder: datastore URI, blob URL of the storage account, or local path.
    :param scoring_script: the script's file name relative to the code folder.
    :param model_uri: the model folder or file; ``AZUREML_MODEL_DIR`` points at its download.
    :param inputs: ``{"type": "uri_folder" | "uri_file", "uri": ...}`` items; their files are scored.
    :param output_uri: output folder, or output file when the last segment has a suffix; ``None`` means
        ``azureml://datastores/workspaceblobstore/paths/azureml/<name>/score/``.
    :param timeout: seconds a single ``run()`` call may take before its worker is killed.
    :param error_threshold: failed input files tolerated; -1 tolerates any number.
    :param environment: the deployment's environment (``image``, ``conda_file`` text), recorded, not built.
    """

    name: str
    code_uri: str
    scoring_script: str
    inputs: list[dict[str, str]]
    endpoint: str = ""
    deployment: str = ""
    model_uri: str | None = None
    output_uri: str | None = None
    output_file_name: str = "predictions.csv"
    output_action: str = OutputAction.APPEND_ROW
    mini_batch_size: int = 10
    instance_count: int = 1
    max_concurrency_per_instance: int = 1
    max_retries: int = 3
    timeout: float = 30
    error_threshold: int = -1
    logging_level: str = "info"
    environment_variables: dict[str, str] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject settings a batch deployment would reject, naming the field and the allowed values."""
        if not JOB_NAME.fullmatch(self.name):
            raise JobError(
                ErrorCode.INVALID_SPEC,
                f"job name {self.name!r} must start with a letter or digit and hold only letters, digits, - and _",
            )
        positive = ("mini_batch_size", "instance_count", "max_concurrency_per_instance")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise JobError(ErrorCode.INVALID_SPEC, f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_retries < 0 or self.timeout <= 0 or self.error_threshold < -1:
            raise JobError(
                ErrorCode.INVALID_SPEC,
                "max_retries must be >= 0, timeout > 0 and error_threshold >= -1; got "
                f"{self.max_retries}, {self.timeout}, {self.error_threshold}",
            )
        if self.logging_level.lower() not in LOGGING_LEVELS:
            raise JobError(
                ErrorCode.INVALID_SPEC,
                f"logging_level must be one of {sorted(LOGGING_LEVELS)}, got {self.logging_level!r}",
            )
        if not is_plain_file_name(self.output_file_name):
            raise JobError(
                ErrorCode.INVALID_SPEC,
                f"output_file_name {self.output_file_name!r} must be a plain file name (no '/', '\\' or '..')",
            )
        if self.output_action not in OutputAction.ALL:
            raise JobError(
                ErrorCode.INVALID_SPEC,
                f"output_action must be one of {sorted(OutputAction.ALL)}, got {self.output_action!r}",
            )
        for item in self.inputs:
            if item.get("type") not in ("uri_folder", "uri_file") or not item.get("uri"):
                raise JobError(
                    ErrorCode.INVALID_SPEC, f"each input needs type uri_folder or uri_file and a uri: {item}"
                )

    @property
    def worker_count(self) -> int:
        """Workers Azure would run: instances times concurrency per instance."""
        return self.instance_count * self.max_concurrency_per_instance

    @property
    def resolved_output_uri(self) -> str:
        """The output location, defaulting the way Azure does: a folder named after the job."""
        if self.output_uri:
            return self.output_uri
        return f"azureml://datastores/{DEFAULT_DATASTORE}/paths/azureml/{self.name}/score/"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict`` reads it back."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchJobSpec:
        """Build a spec from ``to_dict`` output, ignoring keys it does not know (older or newer servers)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
