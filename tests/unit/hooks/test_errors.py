"""``remote_errors``: SDK errors become the plugin's errors, naming the action, first line only, secrets masked."""

from __future__ import annotations

import pytest
from azure.ai.ml.exceptions import MlException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

from airflow_batchml.exceptions import AzureMLNotFoundError, AzureMLRemoteError
from airflow_batchml.hooks.errors import first_line, remote_errors


def test_a_missing_resource_becomes_not_found_naming_the_action():
    cause = ResourceNotFoundError("Job batchjob-1 was not found")
    with pytest.raises(AzureMLNotFoundError) as err, remote_errors("Reading job batchjob-1"):
        raise cause
    assert str(err.value) == "Reading job batchjob-1: not found (Job batchjob-1 was not found)"
    assert err.value.__cause__ is cause


@pytest.mark.parametrize(
    "cause",
    [
        HttpResponseError(message="(BadRequest) mini_batch_size must be positive"),
        ServiceRequestError("Connection refused"),
        MlException(message="Connection refused", no_personal_data_message="refused"),
    ],
    ids=["http-error", "azure-error", "ml-exception"],
)
def test_other_sdk_errors_become_remote_errors_naming_the_action(cause):
    with pytest.raises(AzureMLRemoteError) as err, remote_errors("Creating endpoint scoring"):
        raise cause
    assert type(err.value) is AzureMLRemoteError
    assert str(err.value) == f"Creating endpoint scoring failed: {first_line(cause)}"
    assert err.value.__cause__ is cause


def test_errors_that_are_not_the_sdks_pass_through_unchanged():
    cause = ValueError("a bug of ours")
    with pytest.raises(ValueError) as err, remote_errors("Creating endpoint scoring"):
        raise cause
    assert err.value is cause


def test_only_the_first_line_of_a_multi_line_sdk_error_is_kept():
    cause = HttpResponseError(message="\n(UserError) endpoint scoring is busy\nCode: UserError\nMessage: busy")
    with pytest.raises(AzureMLRemoteError) as err, remote_errors("Deleting endpoint scoring"):
        raise cause
    assert str(err.value) == "Deleting endpoint scoring failed: (UserError) endpoint scoring is busy"


def test_a_secret_in_the_sdk_error_does_not_reach_the_message():
    cause = HttpResponseError(message="PUT https://a.blob.core.windows.net/c/b?sv=2021&sig=canary-sig-8f3e failed")
    with pytest.raises(AzureMLRemoteError) as err, remote_errors("Uploading b"):
        raise cause
    assert "canary-sig-8f3e" not in str(err.value)
    assert "sig=***" in str(err.value)


def test_first_line_prefers_the_sdk_message_and_falls_back_to_the_error_type():
    assert first_line(MlException(message="  the message\nmore", no_personal_data_message="other")) == "the message"
    assert first_line(ServiceRequestError("")) == "ServiceRequestError"
    assert first_line(ValueError("plain\ntext")) == "plain"
