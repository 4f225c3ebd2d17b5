"""``AzureMLHook.test_connection`` against the emulator: one authenticated GET of the workspace, and a
message that names the step that failed (credential, workspace, network, TLS) and carries no secret."""

from __future__ import annotations

import json
import secrets
import socket

import pytest

from airflow_batchml.hooks.azure_ml import AzureMLHook

pytestmark = pytest.mark.integration


@pytest.fixture
def test_connection(emulator, monkeypatch):
    """Test the emulator's ``azure_ml`` connection with ``changes`` to its extras, as the Test button does."""
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # only the connection's ca_bundle may trust it
        monkeypatch.delenv(variable, raising=False)

    def run(**changes) -> tuple[bool, str]:
        body = emulator.connection
        body["extra"].update(changes)
        monkeypatch.setenv("AIRFLOW_CONN_AZURE_ML_CHECKED", json.dumps(body))
        return AzureMLHook("azure_ml_checked").test_connection()

    return run


def test_a_good_connection_names_the_workspace_its_region_and_credential(test_connection, emulator):
    ok, message = test_connection()

    assert ok, message
    assert message == (
        f"Connected: workspace local-ws (eastus) in resource group local-rg, read at {emulator.url} "
        "with the static_token credential."
    )


def test_a_wrong_token_fails_authentication_and_shows_neither_token(test_connection, emulator):
    wrong = f"wrong-{secrets.token_urlsafe(24)}"

    ok, message = test_connection(token=wrong)

    assert not ok
    # The emulator's 401 body, so the GET was sent and refused.
    assert message == (
        "Authentication failed with the static_token credential: "
        "(AuthenticationFailed) A valid 'Authorization: Bearer' token is required."
    )
    assert wrong not in message and emulator.token not in message


def test_an_unknown_workspace_is_named_with_its_resource_group(test_connection):
    ok, message = test_connection(workspace_name="no-such-ws")

    assert not ok
    assert message.startswith("Workspace no-such-ws not found in resource group local-rg: (ResourceNotFound)")


def test_a_resource_manager_nobody_listens_on_is_unreachable(test_connection):
    with socket.socket() as held:  # bound, never listening: connections are refused, and no one can take the port
        held.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{held.getsockname()[1]}"

        ok, message = test_connection(resource_manager_url=url + "/")

    assert not ok
    assert message.startswith(f"Could not reach the resource manager at {url}: ")
    assert "Connection refused" in message


def test_an_untrusted_certificate_says_to_set_ca_bundle(test_connection, emulator):
    ok, message = test_connection(ca_bundle=None)

    assert not ok
    assert message.startswith(
        f"Could not reach the resource manager at {emulator.url} (its certificate is not trusted: set ca_bundle): "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in message
