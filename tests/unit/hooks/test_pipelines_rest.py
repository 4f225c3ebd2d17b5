"""v1 pipelines HTTP: the workspace id in routes, the token-destination check first, and how failures are reported.

The service's answers (discovery, 404s, refusals, entities) come from the emulator in
tests/integration/hooks/test_published_pipelines.py, and a foreign host that must receive no token in
tests/integration/hooks/test_token_destinations.py; here requests go only to a loopback port that refuses them.
"""

from __future__ import annotations

import socket

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLNotFoundError, AzureMLRemoteError
from airflow_batchml.hooks import pipelines_rest
from airflow_batchml.hooks.azure_ml import AzureMLHook

TOKEN = "canary-token-value-5d1c"


def settings_of(conn_id):
    return AzureMLHook(azure_ml_conn_id=conn_id).settings


@pytest.fixture
def refusing_url():
    """An https URL on a loopback port that is bound but not listening: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"


def test_the_workspace_id_is_its_arm_resource_path(azure_ml_conn):
    assert pipelines_rest.workspace_id(settings_of(azure_ml_conn())) == (
        "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"
    )


def test_a_refused_destination_fails_before_a_token_is_fetched(azure_ml_conn, monkeypatch):
    # A stand-in credential builder that fails the test: no token may be asked for a refused URL.
    monkeypatch.setattr(pipelines_rest, "get_credential", lambda settings: pytest.fail("a token was fetched"))
    checked = []

    def refuse(url):
        checked.append(url)
        raise AzureMLConfigurationError("rest_endpoint", "is not an Azure ML host")

    with pytest.raises(AzureMLConfigurationError) as raised:
        pipelines_rest.call(settings_of(azure_ml_conn()), "POST", "https://elsewhere.test/x", "Running", check=refuse)
    assert raised.value.field == "rest_endpoint"
    assert checked == ["https://elsewhere.test/x"]


def test_an_unreachable_service_is_a_remote_error_naming_the_operation(azure_ml_conn, refusing_url):
    settings = settings_of(azure_ml_conn(token=TOKEN))
    with pytest.raises(AzureMLRemoteError) as raised:
        pipelines_rest.call(settings, "GET", f"{refusing_url}/pipelines", "Listing pipelines", check=lambda url: None)
    assert not isinstance(raised.value, AzureMLNotFoundError)
    assert str(raised.value).startswith("Listing pipelines failed: ")
    assert TOKEN not in str(raised.value)


def test_a_signature_in_the_url_is_masked_in_the_error(azure_ml_conn, refusing_url):
    settings = settings_of(azure_ml_conn(token=TOKEN))
    url = f"{refusing_url}/pipelines?sv=2021&sig=SECRETSIG"
    with pytest.raises(AzureMLRemoteError) as raised:
        pipelines_rest.call(settings, "GET", url, "Listing pipelines", check=lambda url: None)
    assert "SECRETSIG" not in str(raised.value)
    assert "sig=***" in str(raised.value)


def test_an_unreadable_discovery_document_names_its_url(azure_ml_conn, refusing_url):
    discovery = f"{refusing_url}/discovery/workspaces/ws-1"
    with pytest.raises(
        AzureMLRemoteError, match="Reading the pipelines service from .*/discovery/workspaces/ws-1 failed"
    ):
        pipelines_rest.discover_pipelines_service(discovery, settings_of(azure_ml_conn()))
