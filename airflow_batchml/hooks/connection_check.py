"""What the connection form's Test button reports: which step failed, in words an admin can act on.

The check is one authenticated GET of the workspace. Its failures fall into the steps a user fixes in
different places: the settings themselves, the credential, the role assignment, the workspace's name or
resource group, and the network or TLS path to the resource manager. Messages pass through ``redact`` and
lose every secret the connection holds, because the API returns them to the browser verbatim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_batchml.hooks.credentials import credential_kind
from airflow_batchml.hooks.errors import first_line
from airflow_batchml.redaction import redact

if TYPE_CHECKING:
    from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings


def success_message(workspace: Any, settings: AzureMLConnectionSettings) -> str:
    return (
        f"Connected: workspace {workspace.name} ({workspace.location}) in resource group "
        f"{settings.resource_group}, read at {settings.resource_manager} with the "
        f"{credential_kind(settings)} credential."
    )


def failure_message(err: Exception, settings: AzureMLConnectionSettings) -> str:
    """Name the failed step for ``err``, raised while building the client or reading the workspace."""
    return without_secrets(_describe(err, settings), settings)


def _describe(err: Exception, settings: AzureMLConnectionSettings) -> str:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    detail = first_line(err)
    where = f"resource group {settings.resource_group}"
    if isinstance(err, ClientAuthenticationError):
        return f"Authentication failed with the {credential_kind(settings)} credential: {detail}"
    if isinstance(err, ResourceNotFoundError):
        return f"Workspace {settings.workspace_name} not found in {where}: {detail}"
    if isinstance(err, HttpResponseError) and err.status_code == 403:
        return f"Authenticated, but not allowed to read workspace {settings.workspace_name} in {where}: {detail}"
    if isinstance(err, ServiceRequestError):
        hint = " (its certificate is not trusted: set ca_bundle)" if "CERTIFICATE_VERIFY_FAILED" in detail else ""
        return f"Could not reach the resource manager at {settings.resource_manager}{hint}: {detail}"
    return f"Reading workspace {settings.workspace_name} failed ({type(err).__name__}): {detail}"


def without_secrets(text: str, settings: AzureMLConnectionSettings | None) -> str:
    """``text`` with secret patterns and the connection's own secret values masked."""
    secrets = (settings.token, settings.client_secret, settings.client_certificate_password) if settings else ()
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return redact(text)
