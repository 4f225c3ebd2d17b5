"""Reading a datastore's ARM body and listSecrets answer, and what the datastore hook refuses.

The bodies are the recorded real ones (Azure/azure-sdk-assets, python/sdk/ml/azure-ai-ml/tests/recordings/
datastore/e2etests/test_datastore.py*: test_file_store, test_credential_less_adls_gen2_store), with the
sanitised account name replaced by a valid one. The emulator serves only account-key blob datastores, so the
other kinds are checked here; the blob datastore itself runs end to end in tests/integration/blob_changes.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings
from airflow_batchml.hooks.datastores import DatastoreBlobHook, datastore_location, storage_secret


def recorded(datastore_type: str, credentials_type: str = "AccountKey", **container) -> dict:
    return {
        "name": "store",
        "type": "Microsoft.MachineLearningServices/workspaces/datastores",
        "properties": {
            "credentials": {"credentialsType": credentials_type},
            "datastoreType": datastore_type,
            "accountName": "mlstorage01",
            "endpoint": "core.windows.net",
            "protocol": "https",
            **container,
        },
    }


BLOB = recorded("AzureBlob", containerName="testblob")


def test_a_blob_datastore_is_its_account_url_and_container():
    location = datastore_location("store", BLOB, None)
    assert (location.account_url, location.container_name) == ("https://mlstorage01.blob.core.windows.net", "testblob")
    assert not location.identity_based


def test_the_connections_storage_suffix_wins_over_the_datastores():
    location = datastore_location("store", BLOB, "core.azureml.test")
    assert location.account_url == "https://mlstorage01.blob.core.azureml.test"


def test_a_credential_less_adls_gen2_store_is_read_through_blob_with_the_identity():
    body = recorded("AzureDataLakeGen2", "None", filesystem="my-gen2-container")
    location = datastore_location("gen2", body, None)
    assert (location.container_name, location.identity_based) == ("my-gen2-container", True)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (recorded("AzureFile", fileShareName="testfileshare"), "is a AzureFile datastore; accepted: AzureBlob"),
        (recorded("AzureBlob", "ServicePrincipal", containerName="c"), "uses ServicePrincipal credentials"),
        (recorded("AzureBlob"), "names no valid storage account and container"),
        ({"properties": {**BLOB["properties"], "endpoint": "evil.example/x?"}}, "not a storage host suffix"),
        ({"properties": {**BLOB["properties"], "accountName": "a.evil.example#"}}, "no valid storage account"),
    ],
)
def test_what_holds_no_blobs_or_points_elsewhere_is_refused_naming_the_datastore(body, text):
    with pytest.raises(AzureMLConfigurationError) as err:
        datastore_location("store", body, None)
    assert err.value.field == "datastore" and text in str(err.value)


def test_secrets_become_the_blob_client_credential():
    location = datastore_location("store", BLOB, None)
    assert storage_secret("store", location, {"secretsType": "Sas", "sasToken": "?sv=1&sig=abc"}) == "sv=1&sig=abc"
    assert storage_secret("store", location, {"secretsType": "AccountKey", "key": "a2V5"}) == {
        "account_name": "mlstorage01",
        "account_key": "a2V5",
    }
    with pytest.raises(AzureMLConfigurationError) as err:
        storage_secret("store", location, {"secretsType": "ServicePrincipal", "clientSecret": "canary-secret"})
    assert "ServicePrincipal" in str(err.value) and "canary-secret" not in str(err.value)


class Workspace:
    """The async hook's surface the datastore hook uses. A stand-in because the emulator has no identity-based
    datastore and never denies listSecrets to a valid token."""

    def __init__(self, body: dict, token: str | None, secrets: Exception | dict) -> None:
        self.body, self.secrets, self.asked = body, secrets, []
        self.settings = AzureMLConnectionSettings("sub", "rg", "ws", token=token)
        self.credential = object()

    async def get_datastore(self, name):
        return self.body

    async def list_datastore_secrets(self, name, hours):
        self.asked.append(hours)
        if isinstance(self.secrets, Exception):
            raise self.secrets
        return self.secrets


async def credential_of(workspace: Workspace):
    hook = DatastoreBlobHook("azure_ml_default", "store")
    hook._ml = workspace
    return await hook._credential(datastore_location("store", workspace.body, None))


async def test_an_identity_based_datastore_uses_the_connections_identity_not_a_static_token():
    body = recorded("AzureBlob", "None", containerName="c")
    workspace = Workspace(body, None, {})
    assert await credential_of(workspace) is workspace.credential and workspace.asked == []
    with pytest.raises(AzureMLConfigurationError) as err:
        await credential_of(Workspace(body, "static-token", {}))
    assert err.value.field == "azure_ml_conn_id" and "static 'token'" in str(err.value)


async def test_denied_secrets_fall_back_to_the_identity_as_azure_ai_ml_does():
    from airflow_batchml.hooks.azure_ml_async import AzureMLAccessDeniedError

    denied = AzureMLAccessDeniedError("Reading secrets of datastore store: access denied (HTTP 403)")
    workspace = Workspace(BLOB, None, denied)
    assert await credential_of(workspace) is workspace.credential and workspace.asked == [1]


def test_the_hook_repr_names_no_secret():
    hook = DatastoreBlobHook("azure_ml_default", "workspaceblobstore")
    hook._client = SimpleNamespace(url="https://a.blob.core.windows.net/?sig=canary")
    assert "canary" not in repr(hook) and "workspaceblobstore" in repr(hook)
