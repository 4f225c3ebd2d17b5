"""Job statuses: every spelling normalised to the wire value, unknown ones refused, and what ends a wait."""

from __future__ import annotations

import logging
from enum import Enum

import pytest

from airflow_batchml.exceptions import AzureMLRemoteError
from airflow_batchml.hooks.job_status import AzureMLJobStatus, log_status_change, normalise_status


class JobStatus(str, Enum):  # noqa: UP042  (a StrEnum's str() is its value: not the SDK's shape)
    """The shape of azure-ai-ml's (private) REST enum: a str subclass whose ``str()`` is ``JobStatus.RUNNING``."""

    RUNNING = "Running"
    NOT_STARTED = "NotStarted"
    CANCEL_REQUESTED = "CancelRequested"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Running", "Running"),
        ("running", "Running"),
        ("NOTRESPONDING", "NotResponding"),
        ("NOT_STARTED", "NotStarted"),
        ("JobStatus.CANCEL_REQUESTED", "CancelRequested"),
        (JobStatus.RUNNING, "Running"),
        (JobStatus.NOT_STARTED, "NotStarted"),
        (JobStatus.CANCEL_REQUESTED, "CancelRequested"),
    ],
)
def test_every_spelling_becomes_the_wire_value(value, expected):
    assert normalise_status(value) == expected


def test_enum_members_really_print_as_their_class_name():
    """Why normalisation is needed: ``str()`` of the SDK's enum is not the wire value."""
    assert str(JobStatus.RUNNING) == "JobStatus.RUNNING"


@pytest.mark.parametrize("value", ["Exploded", "", None, "Run ning"])
def test_an_unknown_status_is_an_error_naming_the_job_and_the_value(value):
    with pytest.raises(AzureMLRemoteError) as err:
        normalise_status(value, "batchjob-1")
    assert str(err.value) == f"Azure ML job batchjob-1 reported an unknown status {value!r}"


def test_a_wait_ends_on_the_terminal_statuses_and_paused_only():
    assert {"Completed", "Failed", "Canceled", "Paused"} == AzureMLJobStatus.WAIT_OVER_STATUSES
    assert {"Completed"} == AzureMLJobStatus.SUCCESS_STATUSES
    assert {"Failed", "Canceled"} == AzureMLJobStatus.FAILURE_STATUSES


def test_not_responding_is_waited_on_with_a_warning():
    assert "NotResponding" in AzureMLJobStatus.WARNING_STATUSES
    assert "NotResponding" not in AzureMLJobStatus.WAIT_OVER_STATUSES


def test_every_status_is_either_terminal_or_intermediate_never_both():
    assert not AzureMLJobStatus.TERMINAL_STATUSES & AzureMLJobStatus.INTERMEDIATE_STATUSES
    assert len(AzureMLJobStatus.ALL_STATUSES) == 14
    assert AzureMLJobStatus.STOPPED_STATUSES <= AzureMLJobStatus.INTERMEDIATE_STATUSES


@pytest.fixture
def job_log(caplog):
    caplog.set_level(logging.INFO, logger="test_job_status")
    return logging.getLogger("test_job_status")


def test_a_new_status_is_logged_once_as_info(job_log, caplog):
    log_status_change(job_log, "batchjob-1", "Running", "Queued")
    log_status_change(job_log, "batchjob-1", "Running", "Running")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("INFO", "Job batchjob-1 is Running")]


def test_entering_not_responding_is_a_warning(job_log, caplog):
    log_status_change(job_log, "batchjob-1", "NotResponding", "Running")
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith("Job batchjob-1 is NotResponding: Azure ML lost contact with its nodes")
