"""The plugin's error types: their hierarchy, the fields they carry, their messages, and redaction of secrets."""

from __future__ import annotations

import pytest

from airflow_batchml.exceptions import (
    AzureMLConfigurationError,
    AzureMLError,
    AzureMLJobError,
    AzureMLNotFoundError,
    AzureMLRemoteError,
)


def test_a_configuration_error_names_its_field_first():
    err = AzureMLConfigurationError("connection.tenant_id", "is required with a client secret")
    assert err.field == "connection.tenant_id"
    assert str(err) == "connection.tenant_id: is required with a client secret"


def test_a_configuration_error_is_also_a_value_error():
    """Callers that catch ``ValueError`` for bad arguments still catch it."""
    with pytest.raises(ValueError, match="inputs: is empty"):
        raise AzureMLConfigurationError("inputs", "is empty")


def test_a_job_error_carries_the_job_and_its_status():
    err = AzureMLJobError("batchjob-1", "Failed", "the scoring script raised")
    assert (err.job_name, err.status) == ("batchjob-1", "Failed")
    assert str(err) == "Azure ML job batchjob-1 is Failed: the scoring script raised"


@pytest.mark.parametrize(
    ("error_type", "parents"),
    [
        (AzureMLConfigurationError, (AzureMLError, ValueError)),
        (AzureMLRemoteError, (AzureMLError,)),
        (AzureMLNotFoundError, (AzureMLRemoteError, AzureMLError)),
        (AzureMLJobError, (AzureMLError,)),
    ],
)
def test_every_error_is_an_azure_ml_error(error_type, parents):
    assert issubclass(error_type, parents)


def test_a_missing_resource_is_not_a_job_or_configuration_error():
    assert not issubclass(AzureMLNotFoundError, (AzureMLJobError, AzureMLConfigurationError))
    assert not issubclass(AzureMLRemoteError, ValueError)


def test_plugin_errors_are_redacted():
    err = AzureMLRemoteError("upload to https://x/c?sig=SECRETSIG failed")
    assert "SECRETSIG" not in str(err)


@pytest.mark.parametrize(
    "error",
    [
        AzureMLRemoteError("GET https://a.blob.core.windows.net/c/b?sv=2021&sig=SECRETSIG failed"),
        AzureMLNotFoundError("Authorization: Bearer SECRETSIG rejected"),
        AzureMLConfigurationError("connection.extra", "AccountName=a;AccountKey=SECRETSIG; is not a field"),
        AzureMLJobError("batchjob-1", "Failed", "{'client_secret': 'SECRETSIG'}"),
    ],
    ids=["remote", "not-found", "configuration", "job"],
)
def test_no_error_type_lets_a_secret_into_its_message(error):
    assert "SECRETSIG" not in str(error)
    assert "SECRETSIG" not in repr(error)
    assert "***" in str(error)
