"""Azure ML job statuses exactly as the service spells them, and what each means for a waiting task.

azure-ai-ml returns some statuses as ``JobStatus`` enum members whose ``str()`` is ``JobStatus.RUNNING``;
:func:`normalise_status` turns every form into the wire value. A status this module does not know is an
error, so a wait can never spin forever on a value nobody expected.
"""

from __future__ import annotations

from airflow_batchml.exceptions import AzureMLRemoteError


class AzureMLJobStatus:
    """Job status values and the sets that classify them."""

    NOT_STARTED = "NotStarted"
    STARTING = "Starting"
    PROVISIONING = "Provisioning"
    PREPARING = "Preparing"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    NOT_RESPONDING = "NotResponding"
    PAUSED = "Paused"
    UNKNOWN = "Unknown"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"

    SUCCESS_STATUSES = frozenset({COMPLETED})
    FAILURE_STATUSES = frozenset({FAILED, CANCELED})
    TERMINAL_STATUSES = SUCCESS_STATUSES | FAILURE_STATUSES
    # NotResponding and Paused are not terminal, but a wait on them must still end: the operator's
    # timeout bounds every wait, and they are logged on change like any other status.
    INTERMEDIATE_STATUSES = frozenset(
        {
            NOT_STARTED,
            STARTING,
            PROVISIONING,
            PREPARING,
            QUEUED,
            RUNNING,
            FINALIZING,
            CANCEL_REQUESTED,
            NOT_RESPONDING,
            PAUSED,
            UNKNOWN,
        }
    )
    ALL_STATUSES = TERMINAL_STATUSES | INTERMEDIATE_STATUSES


_BY_LOWER = {status.lower(): status for status in AzureMLJobStatus.ALL_STATUSES}


def normalise_status(value: object, job_name: str = "?") -> str:
    """Return the wire spelling of ``value`` (a str or a ``JobStatus`` member); unknown values raise."""
    raw = getattr(value, "value", value)
    text = str(raw).rsplit(".", 1)[-1].replace("_", "")
    status = _BY_LOWER.get(text.lower())
    if status is None:
        raise AzureMLRemoteError(f"Azure ML job {job_name} reported an unknown status {value!r}")
    return status
