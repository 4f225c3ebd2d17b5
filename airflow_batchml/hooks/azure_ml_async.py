"""AzureMLAsyncHook: the async twin of AzureMLHook, for triggers.

azure-ai-ml has no async client, and a triggerer may hold a thousand waits at once, so the twin speaks the
few ARM calls triggers need (job GET and cancel, datastore GET and listSecrets) directly, with an async
azure-identity credential and one aiohttp session per hook. It reads the same ``azure_ml`` connection,
through the async connection lookup triggers must use.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

from airflow_batchml.exceptions import AzureMLNotFoundError, AzureMLRemoteError
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings
from airflow_batchml.hooks.credentials import get_async_credential
from airflow_batchml.hooks.job_status import normalise_status
from airflow_batchml.redaction import redact

JOB_API_VERSION = "2024-01-01-preview"
CANCEL_API_VERSION = "2023-04-01-preview"
# The version azure-ai-ml 1.32 used for datastore GET and listSecrets in the recorded real traffic
# (Azure/azure-sdk-assets, recordings/datastore/e2etests/test_datastore.pyTestDatastoretest_file_store.json).
DATASTORE_API_VERSION = "2024-07-01-preview"
TRANSIENT_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class AzureMLTransientError(AzureMLRemoteError):
    """A failure worth retrying: throttling, a 5xx, a dropped connection."""


class AzureMLAccessDeniedError(AzureMLRemoteError):
    """Azure ML refused the connection's identity (401 or 403): a retry will not help until access changes."""


@dataclass
class _SharedClient:
    """What every hook of one connection shares inside one event loop: settings, credential, session."""

    settings: AzureMLConnectionSettings
    credential: Any
    session: Any
    users: int = 0

    async def close(self) -> None:
        await self.session.close()
        await self.credential.close()


# A triggerer runs up to a thousand waits in one loop; one session (one TLS connection pool) and one
# credential (one token cache) per connection keep each wait to a few kilobytes.
_SHARED: dict[tuple[int, str], _SharedClient] = {}


class AzureMLAsyncHook:
    """Job status and cancel over ARM REST, for code running in the triggerer's event loop.

    Use as ``async with AzureMLAsyncHook(conn_id) as hook:``; hooks of the same connection in the same loop
    share one HTTP session and credential, closed when the last of them exits.
    """

    def __init__(self, azure_ml_conn_id: str = "azure_ml_default", request_timeout: float = 30) -> None:
        self.azure_ml_conn_id = azure_ml_conn_id
        self.request_timeout = request_timeout
        self._shared: _SharedClient | None = None

    async def __aenter__(self) -> AzureMLAsyncHook:
        key = (id(asyncio.get_running_loop()), self.azure_ml_conn_id)
        if key not in _SHARED:
            created = await self._connect()
            if _SHARED.setdefault(key, created) is not created:  # another hook won the race while we awaited
                await created.close()
        self._shared = _SHARED[key]
        self._shared.users += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        shared, self._shared = self._shared, None
        if shared is None:
            return
        shared.users -= 1
        if shared.users == 0:
            _SHARED.pop((id(asyncio.get_running_loop()), self.azure_ml_conn_id), None)
            await shared.close()

    async def _connect(self) -> _SharedClient:
        import aiohttp
        from airflow.providers.common.compat.connection import get_async_connection

        conn = await get_async_connection(self.azure_ml_conn_id)
        settings = AzureMLConnectionSettings.from_connection(conn)
        connector = aiohttp.TCPConnector(ssl=_ssl_context(settings.ca_bundle))
        session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self.request_timeout))
        return _SharedClient(settings, get_async_credential(settings), session)

    @property
    def settings(self) -> AzureMLConnectionSettings:
        if self._shared is None:
            raise RuntimeError("use AzureMLAsyncHook inside 'async with'")
        return self._shared.settings

    @property
    def credential(self) -> Any:
        """The connection's async credential (shared; closed with the last hook), e.g. for storage tokens."""
        if self._shared is None:
            raise RuntimeError("use AzureMLAsyncHook inside 'async with'")
        return self._shared.credential

    def _workspace_url(self, path: str) -> str:
        s = self.settings
        return (
            f"{s.resource_manager}/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{s.workspace_name}/{path}"
        )

    def _job_url(self, job_name: str) -> str:
        return self._workspace_url(f"jobs/{job_name}")

    async def get_job_status(self, job_name: str) -> str:
        """Return the job's status as the wire spells it."""
        body = await self._request("GET", self._job_url(job_name), JOB_API_VERSION, f"Reading job {job_name}")
        return normalise_status((body.get("properties") or {}).get("status"), job_name)

    async def cancel_job(self, job_name: str) -> None:
        """Ask Azure ML to cancel the job (accepted is enough; the caller keeps polling)."""
        await self._request("POST", self._job_url(job_name) + "/cancel", CANCEL_API_VERSION, f"Cancelling {job_name}")

    async def get_datastore(self, name: str) -> dict[str, Any]:
        """The datastore's ARM body (account, container, endpoint suffix, credential type; no secrets)."""
        url = self._workspace_url(f"datastores/{quote(name, safe='')}")
        return await self._request("GET", url, DATASTORE_API_VERSION, f"Reading datastore {name}")

    async def list_datastore_secrets(self, name: str, expire_after_hours: int = 1) -> dict[str, Any]:
        """The datastore's secrets as azure-ai-ml >= 1.32 asks for them: an expirable secret, which Azure
        answers with ``{"secretsType": "Sas", "sasToken": ...}`` (or an account key for older stores)."""
        url = self._workspace_url(f"datastores/{quote(name, safe='')}/listSecrets")
        body = {"expirableSecret": True, "expireAfterHours": expire_after_hours}
        return await self._request("POST", url, DATASTORE_API_VERSION, f"Reading secrets of datastore {name}", body)

    async def _request(
        self, method: str, url: str, api_version: str, action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        import aiohttp

        shared = self._shared
        if shared is None:
            raise RuntimeError("use AzureMLAsyncHook inside 'async with'")
        token = await shared.credential.get_token(f"{self.settings.resource_manager}/.default")
        headers = {"Authorization": f"Bearer {token.token}", "Accept": "application/json"}
        try:
            async with shared.session.request(
                method, url, params={"api-version": api_version}, headers=headers, json=body
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AzureMLTransientError(f"{action}: {type(err).__name__}: {err}") from err
        if status == 404:
            raise AzureMLNotFoundError(f"{action}: not found")
        if status in TRANSIENT_HTTP_STATUSES:
            raise AzureMLTransientError(f"{action}: HTTP {status}")
        if status in (401, 403):
            raise AzureMLAccessDeniedError(f"{action}: access denied (HTTP {status}) {redact(text[:300])}")
        if status >= 400:
            raise AzureMLRemoteError(f"{action} failed: HTTP {status} {redact(text[:300])}")
        return json.loads(text) if text.strip() else {}


@cache
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """One TLS context per CA bundle (loading certificates is the costly part of a context)."""
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
