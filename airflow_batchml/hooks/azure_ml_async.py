"""AzureMLAsyncHook: the async twin of AzureMLHook, for triggers.

azure-ai-ml has no async client, and a triggerer may hold a thousand waits at once, so the twin speaks the
two ARM calls a wait needs (job GET and job cancel) directly, with an async azure-identity credential
and one aiohttp session per hook. It reads the same ``azure_ml`` connection, through the async
connection lookup triggers must use.
"""

from __future__ import annotations

import json
import ssl
from functools import cached_property
from typing import Any

from airflow_batchml.exceptions import AzureMLNotFoundError, AzureMLRemoteError
from airflow_batchml.hooks.clouds import CLOUDS
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings
from airflow_batchml.hooks.credentials import get_async_credential
from airflow_batchml.hooks.job_status import normalise_status
from airflow_batchml.redaction import redact

JOB_API_VERSION = "2024-01-01-preview"
CANCEL_API_VERSION = "2023-04-01-preview"
TRANSIENT_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class AzureMLTransientError(AzureMLRemoteError):
    """A failure worth retrying: throttling, a 5xx, a dropped connection."""


class AzureMLAsyncHook:
    """Job status and cancel over ARM REST, for code running in the triggerer's event loop.

    Use as ``async with AzureMLAsyncHook(conn_id) as hook:`` so the session and credential are closed.
    """

    def __init__(self, azure_ml_conn_id: str = "azure_ml_default", request_timeout: float = 30) -> None:
        self.azure_ml_conn_id = azure_ml_conn_id
        self.request_timeout = request_timeout
        self._session: Any = None
        self._credential: Any = None
        self._settings: AzureMLConnectionSettings | None = None

    async def __aenter__(self) -> AzureMLAsyncHook:
        import aiohttp
        from airflow.providers.common.compat.connection import get_async_connection

        conn = await get_async_connection(self.azure_ml_conn_id)
        self._settings = AzureMLConnectionSettings.from_connection(conn)
        self._credential = get_async_credential(self._settings)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.request_timeout))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._credential is not None:
            await self._credential.close()

    @property
    def settings(self) -> AzureMLConnectionSettings:
        if self._settings is None:
            raise RuntimeError("use AzureMLAsyncHook inside 'async with'")
        return self._settings

    @cached_property
    def _resource_manager(self) -> str:
        return (self.settings.resource_manager_url or CLOUDS[self.settings.cloud].resource_manager).rstrip("/")

    @cached_property
    def _ssl(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=self.settings.ca_bundle) if self.settings.ca_bundle else True

    def _job_url(self, job_name: str) -> str:
        s = self.settings
        return (
            f"{self._resource_manager}/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{s.workspace_name}/jobs/{job_name}"
        )

    async def get_job_status(self, job_name: str) -> str:
        """Return the job's status as the wire spells it."""
        body = await self._request("GET", self._job_url(job_name), JOB_API_VERSION, f"Reading job {job_name}")
        return normalise_status((body.get("properties") or {}).get("status"), job_name)

    async def cancel_job(self, job_name: str) -> None:
        """Ask Azure ML to cancel the job (accepted is enough; the caller keeps polling)."""
        await self._request("POST", self._job_url(job_name) + "/cancel", CANCEL_API_VERSION, f"Cancelling {job_name}")

    async def _request(self, method: str, url: str, api_version: str, action: str) -> dict[str, Any]:
        import aiohttp

        token = await self._credential.get_token(f"{self._resource_manager}/.default")
        headers = {"Authorization": f"Bearer {token.token}", "Accept": "application/json"}
        try:
            async with self._session.request(
                method, url, params={"api-version": api_version}, headers=headers, ssl=self._ssl
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AzureMLTransientError(f"{action}: {type(err).__name__}: {err}") from err
        if status == 404:
            raise AzureMLNotFoundError(f"{action}: not found")
        if status in TRANSIENT_HTTP_STATUSES:
            raise AzureMLTransientError(f"{action}: HTTP {status}")
        if status >= 400:
            raise AzureMLRemoteError(f"{action} failed: HTTP {status} {redact(text[:300])}")
        return json.loads(text) if text.strip() else {}
