"""Azure ML job statuses exactly as the service spells them, and what each means for a waiting task.

azure-ai-ml returns some statuses as ``JobStatus`` enum members whose ``str()`` is ``JobStatus.RUNNING``;
:func:`normalise_status` turns every form into the wire value. A status this module does not know is an
error, so a wait can never spin forever on a value nobody expected.

Two statuses are neither running nor finished. ``NotResponding`` (nodes out of contact) may recover, so a
wait goes on, bounded by its timeout, with a warning each time the job enters it. ``Paused`` does not end
by itself, so a wait ends there and the task fails naming it; the job is left as it is, not failed, so a
retry attaches to it again (once resumed, it runs on).
"""

from __future__ import annotations

from typing import Any

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
    #: Stopped without finishing, and stays so until someone acts: a wait ends here and the task fails
    #: naming the status, but the job is not failed (a retry attaches to it, e.g. once it is resumed).
    STOPPED_STATUSES = frozenset({PAUSED})
    #: A wait ends on these; on every other status it goes on, bounded by the operator's timeout.
    WAIT_OVER_STATUSES = TERMINAL_STATUSES | STOPPED_STATUSES
    #: Still waited on (a node may come back), with a warning logged each time the job enters one.
    WARNING_STATUSES = frozenset({NOT_RESPONDING})
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


#: Why a wait ended on a STOPPED status (the task's error message says it after the status).
STOPPED_HINT = "the job does not go on until it is resumed (studio or the REST API); the wait ends here"


def log_status_change(log: Any, job_name: str, status: str | None, previous: str | None) -> None:
    """Log a job's new status once, when it changes: a warning for NotResponding, else info."""
    if status == previous:
        return
    if status in AzureMLJobStatus.WARNING_STATUSES:
        log.warning(
            "Job %s is %s: Azure ML lost contact with its nodes; waiting on until the timeout", job_name, status
        )
    else:
        log.info("Job %s is %s", job_name, status)
