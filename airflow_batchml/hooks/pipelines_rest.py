"""HTTP to the v1 pipelines service (published pipelines, pipeline endpoints, v1 schedules).

azure-ai-ml (v2) has no client for it, and azureml-pipeline-core (v1) is not a dependency, so the hook
calls the routes that package's generated client calls (``_restclients/aeva/aml_pipelines_api10.py``):
``<pipelines service>/pipelines/v1.0<workspace ARM id>/...`` with a resource-manager token. The service's
base URL is the ``pipelines`` entry of the workspace's discovery document, as azureml-core finds it
(``https://<region>.api.azureml.ms`` on Azure, the emulator's own host locally); a token goes there
only after ``check_token_destination`` accepted it. Bodies are the service's PascalCase entities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_batchml.exceptions import AzureMLNotFoundError, AzureMLRemoteError
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings
from airflow_batchml.hooks.credentials import get_credential
from airflow_batchml.redaction import redact

REQUEST_TIMEOUT = 60.0
PROVIDER = "Microsoft.MachineLearningServices"


def workspace_id(settings: AzureMLConnectionSettings) -> str:
    return (
        f"/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}"
        f"/providers/{PROVIDER}/workspaces/{settings.workspace_name}"
    )


def discover_pipelines_service(discovery_url: str, settings: AzureMLConnectionSettings) -> str:
    """The ``pipelines`` base URL from the discovery document (which is fetched without a token)."""
    import requests

    try:
        response = requests.get(
            discovery_url, verify=settings.ca_bundle or True, timeout=REQUEST_TIMEOUT, allow_redirects=False
        )
        response.raise_for_status()
        base = response.json()["pipelines"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as err:
        raise AzureMLRemoteError(f"Reading the pipelines service from {discovery_url} failed: {err}") from err
    return str(base).rstrip("/")


def call(
    settings: AzureMLConnectionSettings,
    method: str,
    url: str,
    what: str,
    *,
    body: Any = None,
    check: Callable[[str], None],
) -> Any:
    """Send one request with the connection's token; returns the JSON answer (``None`` when empty).

    ``check`` refuses a URL the token must not go to. A 404 is AzureMLNotFoundError, any other error
    status AzureMLRemoteError naming ``what``; answers are redacted before they reach a message.
    """
    import requests

    check(url)
    token = get_credential(settings).get_token(settings.resource_manager + "/.default").token
    try:
        response = requests.request(
            method,
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            verify=settings.ca_bundle or True,
            timeout=REQUEST_TIMEOUT,
            allow_redirects=False,  # a redirect must not carry the token elsewhere
        )
    except requests.RequestException as err:
        raise AzureMLRemoteError(f"{what} failed: {err}") from err
    if response.status_code == 404:
        raise AzureMLNotFoundError(f"{what}: not found (HTTP 404 {redact(response.text[:300])})")
    if response.status_code >= 400:
        raise AzureMLRemoteError(f"{what} failed: HTTP {response.status_code} {redact(response.text[:500])}")
    return response.json() if response.content else None
