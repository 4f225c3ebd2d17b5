from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.azure_ml import AzureMLHook

SECRET = "canary-secret-value-8f3e"


def settings_of(conn_id):
    return AzureMLHook(azure_ml_conn_id=conn_id).settings


def test_reads_fields_from_extras_login_and_password(azure_ml_conn):
    conn_id = azure_ml_conn(login="client-1", password=SECRET, tenant_id="tenant-1", cloud="AzureChinaCloud")
    settings = settings_of(conn_id)
    assert (settings.subscription_id, settings.resource_group, settings.workspace_name) == ("sub-1", "rg-1", "ws-1")
    assert (settings.client_id, settings.client_secret, settings.cloud) == ("client-1", SECRET, "AzureChinaCloud")


def test_accepts_prefixed_and_camel_case_extras(azure_ml_conn):
    conn_id = azure_ml_conn(**{"extra__azure_ml__token": SECRET, "tenantId": "t-9"})
    settings = settings_of(conn_id)
    assert settings.token == SECRET
    assert settings.tenant_id == "t-9"


@pytest.mark.parametrize("missing", ["subscription_id", "resource_group", "workspace_name"])
def test_missing_workspace_coordinates_name_the_field(azure_ml_conn, missing):
    conn_id = azure_ml_conn(**{missing: ""})
    with pytest.raises(AzureMLConfigurationError, match=f"connection.{missing}: is required"):
        settings_of(conn_id)


def test_unknown_cloud_lists_the_accepted_ones(azure_ml_conn):
    conn_id = azure_ml_conn(cloud="AzureMoonCloud")
    with pytest.raises(AzureMLConfigurationError) as err:
        settings_of(conn_id)
    assert err.value.field == "connection.cloud"
    assert "AzureCloud, AzureChinaCloud, AzureUSGovernment" in str(err.value)


def test_unknown_extra_field_is_rejected(azure_ml_conn):
    conn_id = azure_ml_conn(workspace="typo")
    with pytest.raises(AzureMLConfigurationError, match=r"connection.extra.workspace: is not a known field"):
        settings_of(conn_id)


def test_secret_without_tenant_names_tenant_id_and_hides_the_secret(azure_ml_conn):
    conn_id = azure_ml_conn(login="client-1", password=SECRET)
    with pytest.raises(AzureMLConfigurationError) as err:
        settings_of(conn_id)
    assert err.value.field == "connection.tenant_id"
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/", "https://127.0.0.1:port/", "https://[broken/", "https:///no-host", "emulator"]
)
def test_custom_resource_manager_must_be_https(azure_ml_conn, url):
    conn_id = azure_ml_conn(resource_manager_url=url)
    with pytest.raises(AzureMLConfigurationError, match="resource_manager_url: must be an https"):
        settings_of(conn_id)


def test_missing_files_are_named(azure_ml_conn, tmp_path):
    conn_id = azure_ml_conn(ca_bundle=str(tmp_path / "nope.pem"))
    with pytest.raises(AzureMLConfigurationError, match="connection.ca_bundle"):
        settings_of(conn_id)
    conn_id = azure_ml_conn("other", login="c", tenant_id="t", client_certificate_path=str(tmp_path / "cert.pem"))
    with pytest.raises(AzureMLConfigurationError, match="connection.client_certificate_path"):
        settings_of(conn_id)


def test_repr_never_shows_secrets(azure_ml_conn):
    conn_id = azure_ml_conn(
        login="client-1", password=SECRET, tenant_id="t", token=SECRET + "-token", client_certificate_password=SECRET
    )
    text = repr(settings_of(conn_id))
    assert SECRET not in text
    assert "client-1" in text


def test_bad_connection_fails_before_any_network_call(azure_ml_conn):
    """The hook validates the connection when it builds the client: no MLClient, no request."""
    conn_id = azure_ml_conn(workspace_name="")
    hook = AzureMLHook(azure_ml_conn_id=conn_id)
    with pytest.raises(AzureMLConfigurationError, match="workspace_name"):
        hook.get_client()


@pytest.mark.parametrize(
    ("extras", "message"),
    [
        ({"storage_endpoint": "core.azureml.test"}, "custom resource_manager_url only"),
        ({"resource_manager_url": "https://127.0.0.1:8443/", "storage_endpoint": "https://core.x.test"}, "host suffix"),
        ({"resource_manager_url": "https://127.0.0.1:8443/", "storage_endpoint": "core.x.test:443"}, "host suffix"),
    ],
)
def test_storage_endpoint_is_a_suffix_of_a_custom_cloud(azure_ml_conn, extras, message):
    with pytest.raises(AzureMLConfigurationError, match=message) as err:
        settings_of(azure_ml_conn(**extras))
    assert err.value.field == "connection.storage_endpoint"
