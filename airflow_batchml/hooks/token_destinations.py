"""Where a bearer token may go: the connection's own resource manager and its workspace's Azure ML hosts.

Some URLs the hook sends a token to come from outside the connection: a published pipeline's
``rest_endpoint`` typed into a trigger form, a scoring URI read back from the service. A token for the
connection's identity must not follow such a URL to any other host, so each is checked here first.
Allowed are the resource manager (the cloud's, or the connection's custom one, which is also the local
emulator's address) and, for the connection's cloud, ``<region>.<api domain>`` and
``<name>.<region>.<api or inference domain>`` in the workspace's region. Foreign hosts are refused before
any token is fetched; the region is read from the workspace (a resource-manager call) only for a host
that already has an Azure ML domain.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.clouds import CLOUDS
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings

HTTPS_PORT = 443


def check_token_destination(
    url: str, field: str, settings: AzureMLConnectionSettings, workspace_region: Callable[[], str]
) -> None:
    """Raise AzureMLConfigurationError naming ``field`` unless ``url`` may receive the connection's token."""
    try:
        parts = urlsplit(str(url))
    except ValueError:  # e.g. an unclosed "[" (IPv6 host)
        raise AzureMLConfigurationError(field, f"{str(url)[:80]!r} is not a valid URL") from None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme != "https" or parts.username is not None or not host:
        raise AzureMLConfigurationError(field, f"{_host_of(parts)!r} is not an https URL without user info")
    manager = urlsplit(settings.resource_manager)
    if (host, _port(parts)) == (manager.hostname, _port(manager)):
        return
    domains = CLOUDS[settings.cloud].service_domains
    if _port(parts) == HTTPS_PORT and any(host.endswith("." + domain) for domain in domains):
        region = workspace_region().lower()
        if any(_in_region(host, region, domain) for domain in domains):
            return
        raise _refused(field, host, settings, region)
    raise _refused(field, host, settings, "<workspace region>")


def allowed_hosts(settings: AzureMLConnectionSettings, region: str) -> list[str]:
    """The host patterns a token may go to, for error messages and documentation."""
    api, *others = CLOUDS[settings.cloud].service_domains
    patterns = [f"{region}.{api}", f"*.{region}.{api}", *(f"*.{region}.{domain}" for domain in others)]
    return [urlsplit(settings.resource_manager).netloc, *patterns]


def _in_region(host: str, region: str, domain: str) -> bool:
    return host == f"{region}.{domain}" or host.endswith(f".{region}.{domain}")


def _port(parts) -> int | None:
    try:
        return parts.port or HTTPS_PORT
    except ValueError:  # a port that is not a number
        return None


def _host_of(parts) -> str:
    return parts.netloc.rpartition("@")[2] or parts.path[:80]


def _refused(field: str, host: str, settings: AzureMLConnectionSettings, region: str) -> AzureMLConfigurationError:
    return AzureMLConfigurationError(
        field,
        f"host {host!r} is not one this connection sends its token to; allowed: "
        + ", ".join(allowed_hosts(settings, region)),
    )
