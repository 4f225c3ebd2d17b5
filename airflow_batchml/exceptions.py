"""Domain errors of the plugin, in one place so operators, triggers and tests name the same types.

Messages name the resource (job, endpoint, connection field) and never carry a credential.
"""

from __future__ import annotations

from airflow_batchml.redaction import redact


class AzureMLError(Exception):
    """Base of every error this plugin raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class AzureMLConfigurationError(AzureMLError, ValueError):
    """A connection or argument is wrong; raised before any remote call.

    ``field`` names what to fix, so operators can point the user at the right argument.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class AzureMLRemoteError(AzureMLError):
    """Azure ML (or the emulator) refused or failed an operation; wraps the SDK error text."""


class AzureMLJobError(AzureMLError):
    """A job ended Failed or Canceled, or did not finish in time."""

    def __init__(self, job_name: str, status: str, message: str) -> None:
        self.job_name = job_name
        self.status = status
        super().__init__(f"Azure ML job {job_name} is {status}: {message}")


class AzureMLNotFoundError(AzureMLRemoteError):
    """The named Azure ML resource (endpoint, deployment, job, schedule, compute) does not exist."""
