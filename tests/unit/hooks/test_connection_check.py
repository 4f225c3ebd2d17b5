"""The Test button's messages where the emulator cannot answer: settings refused before any call, a 403
(the emulator models no role assignments) and secrets inside an SDK error's text (no server echoes them)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.hooks.connection_check import failure_message
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings

SECRET = "s3cret-Value_0123456789"


def settings(**fields) -> AzureMLConnectionSettings:
    return AzureMLConnectionSettings(subscription_id="sub-1", resource_group="rg-1", workspace_name="ws-1", **fields)


def test_invalid_settings_fail_naming_the_field_before_any_call(azure_ml_conn):
    conn_id = azure_ml_conn(login="client-1", password=SECRET)  # a secret without the tenant it belongs to

    hook = AzureMLHook(conn_id)

    ok, message = hook.test_connection()

    assert not ok
    assert message.startswith("Invalid connection: connection.tenant_id: ")
    assert "_client" not in hook.__dict__  # no MLClient was built, so nothing was sent
    assert SECRET not in message


def test_a_refused_role_assignment_is_told_apart_from_authentication():
    err = HttpResponseError(message="(AuthorizationFailed) The client does not have authorization to read ws-1.")
    err.status_code = 403  # what azure-core sets from an ARM 403; built by hand: the emulator has no RBAC

    message = failure_message(err, settings(token=SECRET))

    assert message == (
        "Authenticated, but not allowed to read workspace ws-1 in resource group rg-1: "
        "(AuthorizationFailed) The client does not have authorization to read ws-1."
    )


@pytest.mark.parametrize(
    ("fields", "echo"),
    [
        ({"token": SECRET}, f"rejected {SECRET} for scope"),
        ({"client_id": "c", "tenant_id": "t", "client_secret": SECRET}, f"AADSTS7000215: invalid secret {SECRET}"),
        ({"client_certificate_password": SECRET}, f"could not open the certificate with {SECRET}"),
        ({"token": "other"}, f"Authorization: Bearer {SECRET}"),
    ],
)
def test_no_secret_reaches_the_message_even_when_the_error_text_echoes_it(fields, echo):
    message = failure_message(ClientAuthenticationError(message=echo), settings(**fields))

    assert message.startswith("Authentication failed with the ")
    assert SECRET not in message and "***" in message
