"""The connection's token never reaches a log line, an exception message or a repr, even at DEBUG."""

from __future__ import annotations

import logging

import pytest

from airflow_batchml.exceptions import AzureMLError

pytestmark = pytest.mark.integration


def test_token_absent_from_debug_logs_errors_and_reprs(hook, emulator, caplog):
    token = emulator.token
    caplog.set_level(logging.DEBUG)
    hook.ensure_compute("hygiene-cluster")
    with pytest.raises(AzureMLError) as err:
        hook.get_job("no-such-job")
    texts = [caplog.text, str(err.value), repr(err.value), repr(hook.settings), repr(hook.get_client()._credential)]
    assert caplog.text  # DEBUG logging did record the traffic
    for text in texts:
        assert token not in text
