"""ErrorPacing on its own: the backoff arithmetic, when errors are logged, and when a permanent one is news."""

from __future__ import annotations

import logging

import pytest

from airflow_batchml.triggers import retries
from airflow_batchml.triggers.retries import ErrorPacing

LOGGER = "tests.retries"


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The pacing's sleeps, recorded instead of slept."""
    recorded: list[float] = []

    async def recording_sleep(seconds):
        recorded.append(seconds)

    monkeypatch.setattr(retries.asyncio, "sleep", recording_sleep)
    return recorded


def pacing(retry_delay: float = 1, max_retry_delay: float = 60) -> ErrorPacing:
    return ErrorPacing(logging.getLogger(LOGGER), "Listing", lambda: "landing/in/", retry_delay, max_retry_delay)


def messages(caplog, level: int) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == level]


async def test_transient_delays_double_per_failure_up_to_the_maximum(slept):
    errors = pacing(retry_delay=1.5, max_retry_delay=10)
    for _ in range(6):
        await errors.transient(OSError("reset"))
    assert slept == [1.5, 3.0, 6.0, 10, 10, 10]
    assert errors.failures == 6


async def test_the_doubling_stops_at_two_to_the_sixteenth(slept):
    errors = pacing(retry_delay=1, max_retry_delay=float("inf"))
    for _ in range(20):
        await errors.transient(OSError("reset"))
    assert slept[15:] == [2.0**15, 2.0**16, 2.0**16, 2.0**16, 2.0**16]


async def test_a_transient_error_is_logged_on_the_first_failure_and_every_tenth(slept, caplog):
    errors = pacing(retry_delay=1, max_retry_delay=4)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        for _ in range(20):
            await errors.transient(OSError("reset"))
    assert messages(caplog, logging.WARNING) == [
        "Listing landing/in/ failed (1 in a row), retrying in 1.0s: reset",
        "Listing landing/in/ failed (10 in a row), retrying in 4.0s: reset",
        "Listing landing/in/ failed (20 in a row), retrying in 4.0s: reset",
    ]


def test_a_permanent_error_is_news_once_until_it_changes(caplog):
    errors = pacing(max_retry_delay=300)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        first = errors.permanent(ValueError("container 'landing' does not exist"))
        again = errors.permanent(ValueError("container 'landing' does not exist"))
        other = errors.permanent(ValueError("storage refused listing 'landing' (403 AuthorizationFailure)"))
    assert (first, again, other) == (True, False, True)
    assert messages(caplog, logging.ERROR) == [
        "Listing landing/in/ failed, will re-check every 300s: container 'landing' does not exist",
        "Listing landing/in/ failed, will re-check every 300s: storage refused listing 'landing' (403 "
        "AuthorizationFailure)",
    ]


async def test_recheck_waits_the_maximum_delay(slept):
    await pacing(retry_delay=2, max_retry_delay=45).recheck()
    assert slept == [45]


async def test_success_after_transient_failures_is_logged_and_restarts_the_backoff(slept, caplog):
    errors = pacing(retry_delay=1, max_retry_delay=60)
    for _ in range(3):
        await errors.transient(OSError("reset"))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        errors.succeeded()
    await errors.transient(OSError("reset"))
    assert slept == [1, 2, 4, 1]
    assert messages(caplog, logging.INFO) == ["Listing landing/in/ works again"]


def test_success_after_a_permanent_error_makes_the_same_error_news_again(caplog):
    errors = pacing()
    assert errors.permanent(ValueError("container 'landing' does not exist"))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        errors.succeeded()
    assert errors.permanent(ValueError("container 'landing' does not exist")) is True
    assert messages(caplog, logging.INFO) == ["Listing landing/in/ works again"]


def test_success_without_earlier_failures_logs_nothing(caplog):
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        pacing().succeeded()
    assert caplog.records == []


async def test_where_is_asked_when_logging_so_it_names_the_current_location(slept, caplog):
    places = iter(["container a", "container b"])
    errors = ErrorPacing(logging.getLogger(LOGGER), "Reading", lambda: next(places), 1, 60)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        await errors.transient(OSError("reset"))
        errors.succeeded()
    assert messages(caplog, logging.WARNING) == ["Reading container a failed (1 in a row), retrying in 1.0s: reset"]
    assert messages(caplog, logging.INFO) == ["Reading container b works again"]
