"""A workspace datastore resolved to its blob container and a credential for it, in the triggerer's event loop.

As azure-ai-ml does: GET the datastore, then ``listSecrets`` for an expirable SAS (or the key), or the
connection's own token for an identity-based store; renewed every ``refresh_seconds`` and after a failed
listing. The secret stays in this hook's blob client. Why: ``docs/change-detection.md``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLNotFoundError, AzureMLRemoteError
from airflow_batchml.hooks.azure_ml_async import AzureMLAccessDeniedError, AzureMLAsyncHook, AzureMLTransientError
from airflow_batchml.hooks.credentials import credential_kind

#: Datastore types whose data is read through the blob API, and the property naming their container.
BLOB_CONTAINER_PROPERTY = {"AzureBlob": "containerName", "AzureDataLakeGen2": "filesystem"}
#: "can only contain alphanumeric characters and underscore" (Azure/azure-quickstart-templates,
#: 101-machine-learning-datastore-create-*: the datastoreName parameter's description).
DATASTORE_NAME = re.compile(r"[A-Za-z0-9_]{1,255}")
_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_SUFFIX = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}", re.IGNORECASE)
SECRET_HOURS = 1
REFRESH_SECONDS = 30 * 60  # half the SAS lifetime azure-ai-ml asks for


@dataclass(frozen=True)
class DatastoreLocation:
    """Where a datastore's blobs are (no credential): account URL, container, and how to authenticate."""

    datastore: str
    account_name: str
    container_name: str
    account_url: str
    identity_based: bool


def check_datastore_name(name: Any, field: str = "datastore") -> None:
    """Refuse what cannot be a datastore name before it goes into an ARM URL."""
    if not isinstance(name, str) or not DATASTORE_NAME.fullmatch(name):
        raise AzureMLConfigurationError(field, f"{name!r} is not a datastore name (letters, digits and underscores)")


def datastore_location(name: str, body: dict[str, Any], storage_endpoint: str | None) -> DatastoreLocation:
    """Read the datastore GET body; refuse datastore kinds that hold no blobs and malformed hosts."""
    props = body.get("properties") or {}
    kind = props.get("datastoreType")
    container_property = BLOB_CONTAINER_PROPERTY.get(kind)
    if container_property is None:
        raise AzureMLConfigurationError(
            "datastore", f"{name!r} is a {kind} datastore; accepted: {', '.join(BLOB_CONTAINER_PROPERTY)}"
        )
    account, container = props.get("accountName"), props.get(container_property)
    suffix = storage_endpoint or props.get("endpoint")
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account) or not container:
        raise AzureMLConfigurationError("datastore", f"{name!r} names no valid storage account and container")
    if not isinstance(suffix, str) or not _SUFFIX.fullmatch(suffix):
        raise AzureMLConfigurationError(
            "datastore", f"{name!r} has endpoint {suffix!r}, not a storage host suffix such as core.windows.net"
        )
    credentials_type = (props.get("credentials") or {}).get("credentialsType") or "None"
    if credentials_type not in ("AccountKey", "Sas", "None"):
        raise AzureMLConfigurationError(
            "datastore", f"{name!r} uses {credentials_type} credentials; accepted: AccountKey, Sas, or identity-based"
        )
    url = f"https://{account}.blob.{suffix}"
    return DatastoreLocation(name, account, str(container), url, identity_based=credentials_type == "None")


def storage_secret(name: str, location: DatastoreLocation, secrets: dict[str, Any]) -> Any:
    """The blob client credential from a listSecrets answer: a SAS string or the named account key."""
    kind = secrets.get("secretsType")
    if kind == "Sas" and isinstance(secrets.get("sasToken"), str) and secrets["sasToken"].strip("?"):
        return secrets["sasToken"].lstrip("?")
    if kind == "AccountKey" and isinstance(secrets.get("key"), str) and secrets["key"]:
        return {"account_name": location.account_name, "account_key": secrets["key"]}
    raise AzureMLConfigurationError("datastore", f"{name!r}: listSecrets gave {kind!r} secrets, not a SAS or key")


class DatastoreBlobHook:
    """The blob service client of a datastore's account, with the datastore's credential.

    Offers what the blob-change trigger uses of the WASB async hook (``get_async_conn``), plus the resolved
    ``container_name``. Errors come out as AzureMLConfigurationError (naming ``datastore`` or
    ``azure_ml_conn_id``) or AzureMLTransientError, so the trigger can tell a typo from an outage.
    """

    def __init__(self, azure_ml_conn_id: str, datastore: str, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.azure_ml_conn_id = azure_ml_conn_id
        self.datastore = datastore
        self.refresh_seconds = refresh_seconds
        self.location: DatastoreLocation | None = None
        self._ml: AzureMLAsyncHook | None = None
        self._client: Any = None
        self._resolved_at = 0.0

    def __repr__(self) -> str:
        return f"DatastoreBlobHook(azure_ml_conn_id={self.azure_ml_conn_id!r}, datastore={self.datastore!r})"

    @property
    def container_name(self) -> str | None:
        return None if self.location is None else self.location.container_name

    async def get_async_conn(self) -> Any:
        """The blob service client, resolving the datastore first when not resolved recently."""
        if self._client is None or time.monotonic() - self._resolved_at > self.refresh_seconds:
            await self.reset()
            self._client = await self._resolve()
            self._resolved_at = time.monotonic()
        return self._client

    async def reset(self) -> None:
        """Forget the resolution and its secret; the next ``get_async_conn`` asks the workspace again."""
        client, self._client, self.location = self._client, None, None
        if client is not None:
            await client.close()

    async def close(self) -> None:
        await self.reset()
        ml, self._ml = self._ml, None
        if ml is not None:
            await ml.__aexit__(None, None, None)

    async def _resolve(self) -> Any:
        from azure.storage.blob.aio import BlobServiceClient

        if self._ml is None:
            self._ml = await AzureMLAsyncHook(self.azure_ml_conn_id).__aenter__()
        settings = self._ml.settings
        body = await self._ask(self._ml.get_datastore(self.datastore))
        location = datastore_location(self.datastore, body, settings.storage_endpoint)
        credential = await self._credential(location)
        verify = {"connection_verify": settings.ca_bundle} if settings.ca_bundle else {}
        client = BlobServiceClient(location.account_url, credential=credential, **verify)
        self.location = location
        return client

    async def _credential(self, location: DatastoreLocation) -> Any:
        """The datastore's secret, or the connection's identity where the datastore has none or its secrets
        are denied to this identity (azure-ai-ml falls back the same way)."""
        assert self._ml is not None
        if not location.identity_based:
            try:
                secrets = await self._ask(self._ml.list_datastore_secrets(self.datastore, SECRET_HOURS))
                return storage_secret(self.datastore, location, secrets)
            except AzureMLConfigurationError as err:
                if err.field != "azure_ml_conn_id":
                    raise
        if credential_kind(self._ml.settings) == "static_token":
            # A static token is for the resource manager; it must not be sent to a storage host.
            raise AzureMLConfigurationError(
                "azure_ml_conn_id",
                f"datastore {self.datastore!r} is read with a storage token of the connection's identity (it is "
                "identity-based, or its secrets are denied), which a static 'token' connection cannot give",
            )
        return self._ml.credential

    async def _ask(self, call: Any) -> dict[str, Any]:
        """Await an ARM call; map its refusals to configuration errors naming what to fix."""
        try:
            return await call
        except AzureMLTransientError:
            raise
        except AzureMLNotFoundError as err:
            workspace = self._ml.settings.workspace_name if self._ml else "?"
            raise AzureMLConfigurationError(
                "datastore", f"{self.datastore!r} is not a datastore of workspace {workspace!r}"
            ) from err
        except AzureMLAccessDeniedError as err:
            raise AzureMLConfigurationError("azure_ml_conn_id", f"{err}; check the identity's role") from err
        except AzureMLRemoteError as err:
            raise AzureMLConfigurationError("datastore", str(err)) from err
