"""Storage queues of a WASB connection's account: where Event Grid delivers blob events.

The Microsoft Azure provider has no Storage queue hook (its message hooks are Service Bus), so this one
rides on the provider's ``WasbAsyncHook``: it resolves the connection exactly as blob access does (a
connection string, a shared key, a SAS, a service principal or a managed identity) and points an
azure-storage-queue ``QueueClient`` at the same account's queue endpoint with the same credential. One
connection then serves the watched container and its event queue.

A connection string is read by the queue SDK itself (its ``QueueEndpoint``, key or SAS; Azurite needs
``QueueEndpoint``). Otherwise the queue endpoint is the blob endpoint with ``.blob.`` replaced by
``.queue.`` (every Azure cloud names them so), keeping a SAS query if the blob endpoint carries one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_batchml.exceptions import AzureMLConfigurationError

# The SDK's default retries wait 15 s, 18 s and 24 s; the trigger has its own backoff and error events.
RETRIES = {"initial_backoff": 1, "increment_base": 2, "retry_total": 2}

if TYPE_CHECKING:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook
    from azure.storage.queue.aio import QueueClient


class BlobQueueHook:
    """Async queue clients for the storage account of ``wasb_conn_id``; close with :meth:`close`.

    :param wasb_conn_id: The WASB connection of the storage account that holds the queue.
    """

    def __init__(self, wasb_conn_id: str = "wasb_default") -> None:
        self.wasb_conn_id = wasb_conn_id
        self._wasb: WasbAsyncHook | None = None
        self._clients: dict[str, QueueClient] = {}
        self.blob_account_url: str | None = None

    async def get_queue_client(self, queue_name: str) -> QueueClient:
        """The client of ``queue_name`` (cached); raises ``AirflowNotFoundException`` for a missing connection."""
        if queue_name in self._clients:
            return self._clients[queue_name]
        from airflow.providers.common.compat.connection import get_async_connection
        from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook
        from azure.storage.queue.aio import QueueClient

        connection = await get_async_connection(self.wasb_conn_id)
        self._wasb = self._wasb or WasbAsyncHook(wasb_conn_id=self.wasb_conn_id)
        blob_service = await self._wasb.get_async_conn()
        self.blob_account_url = blob_service.url
        conn_str = connection_string(connection.extra_dejson or {})
        try:
            if conn_str:
                client = QueueClient.from_connection_string(conn_str, queue_name, **RETRIES)
            else:
                credential = queue_credential(blob_service.credential)
                endpoint = queue_endpoint(blob_service.url)
                client = QueueClient(account_url=endpoint, queue_name=queue_name, credential=credential, **RETRIES)
        except ValueError as err:
            raise AzureMLConfigurationError("wasb_conn_id", f"no queue client from this connection: {err}") from err
        self._clients[queue_name] = client
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
        blob_service = self._wasb._blob_service_client if self._wasb else None  # the property would build one
        if blob_service is not None:
            await blob_service.close()


def connection_string(extra: dict[str, Any]) -> str | None:
    """The WASB connection's connection string, under either of the provider's field names."""
    return extra.get("connection_string") or extra.get("extra__wasb__connection_string")


def queue_endpoint(blob_url: str) -> str:
    """The queue twin of a blob endpoint (a SAS query kept)."""
    scheme, _, rest = blob_url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.replace('.blob.', '.queue.', 1)}{slash}{path}"


def queue_credential(credential: Any) -> Any:
    """The blob client's credential in a form the queue client accepts.

    A shared key comes back from the blob SDK as its own ``StorageSharedKeyCredential`` class, which the
    queue SDK does not recognise; it takes the same key as a name/key mapping. SAS and token credentials
    are shared as they are.
    """
    if credential is not None and hasattr(credential, "account_key") and hasattr(credential, "account_name"):
        return {"account_name": credential.account_name, "account_key": credential.account_key}
    return credential
