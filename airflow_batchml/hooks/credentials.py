"""Airflow ``azure_ml`` connection -> Azure ``TokenCredential`` (sync for the hook, async for triggers).

One choice, in this order: a static bearer token (pre-fetched tokens, the local emulator), a service
principal secret, a service principal certificate, workload identity, a managed identity, else
``DefaultAzureCredential``. Sovereign clouds change the login authority. Credentials are built from
validated settings, so a missing tenant or unknown cloud never reaches azure-identity.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_batchml.hooks.clouds import CLOUDS

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo

    from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings

STATIC_TOKEN_LIFETIME = 3600


class StaticTokenCredential:
    """A credential that hands out one pre-fetched token for every scope; its repr hides the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenCredential(token=***)"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + STATIC_TOKEN_LIFETIME)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token, int(time.time()) + STATIC_TOKEN_LIFETIME)

    def close(self) -> None:
        """Nothing to release; present for symmetry with azure-identity credentials."""


class AsyncStaticTokenCredential(StaticTokenCredential):
    """Async twin of :class:`StaticTokenCredential` for triggers."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return super().get_token(*scopes, **kwargs)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:  # type: ignore[override]
        return super().get_token_info(*scopes, options=options)

    async def close(self) -> None:  # type: ignore[override]
        """Nothing to release."""

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def credential_kind(settings: AzureMLConnectionSettings) -> str:
    """Name the authentication the connection selects; used for logs and tests, never secret."""
    if settings.token:
        return "static_token"
    if settings.client_id and settings.client_secret:
        return "client_secret"
    if settings.client_id and settings.client_certificate_path:
        return "client_certificate"
    if settings.workload_identity_tenant_id:
        return "workload_identity"
    if settings.managed_identity_client_id:
        return "managed_identity"
    return "default"


def get_credential(settings: AzureMLConnectionSettings) -> Any:
    """Build the synchronous credential the connection describes."""
    if settings.token:
        return StaticTokenCredential(settings.token)
    from azure import identity

    return _build(identity, settings)


def get_async_credential(settings: AzureMLConnectionSettings) -> Any:
    """Build the asynchronous credential the connection describes (for triggers)."""
    if settings.token:
        return AsyncStaticTokenCredential(settings.token)
    from azure.identity import aio

    return _build(aio, settings)


def _build(module: Any, settings: AzureMLConnectionSettings) -> Any:
    """Pick the azure-identity class from ``module`` (sync or aio flavour) that fits the settings."""
    authority = CLOUDS[settings.cloud].authority_host
    kind = credential_kind(settings)
    if kind == "client_secret":
        return module.ClientSecretCredential(
            settings.tenant_id, settings.client_id, settings.client_secret, authority=authority
        )
    if kind == "client_certificate":
        return module.CertificateCredential(
            settings.tenant_id,
            settings.client_id,
            settings.client_certificate_path,
            password=settings.client_certificate_password,
            authority=authority,
        )
    if kind == "workload_identity":
        return module.WorkloadIdentityCredential(
            tenant_id=settings.workload_identity_tenant_id,
            client_id=settings.client_id or settings.managed_identity_client_id,
            authority=authority,
        )
    if kind == "managed_identity":
        return module.ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
    return module.DefaultAzureCredential(
        authority=authority, managed_identity_client_id=settings.managed_identity_client_id
    )
