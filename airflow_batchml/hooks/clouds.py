"""Azure clouds the connection may name, and the custom-cloud description handed to azure-ai-ml.

Sovereign clouds differ in their login authority, resource manager and studio host; a custom
resource-manager URL (Azure Stack, or the local emulator) becomes a cloud registered with the SDK
under a name derived from the URL, because the SDK's cloud registry is process-global and ignores
a second registration of the same name with other endpoints.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    """Endpoints of one Azure cloud."""

    name: str
    authority_host: str
    resource_manager: str
    studio_url: str
    # Azure ML's own service hosts are ``<region>.<api domain>`` and ``<endpoint>.<region>.<inference domain>``.
    service_domains: tuple[str, ...]


CLOUDS: dict[str, Cloud] = {
    "AzureCloud": Cloud(
        "AzureCloud",
        "login.microsoftonline.com",
        "https://management.azure.com/",
        "https://ml.azure.com",
        ("api.azureml.ms", "inference.ml.azure.com"),
    ),
    "AzureChinaCloud": Cloud(
        "AzureChinaCloud",
        "login.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/",
        "https://studio.ml.azure.cn",
        ("api.ml.azure.cn", "inference.ml.azure.cn"),
    ),
    "AzureUSGovernment": Cloud(
        "AzureUSGovernment",
        "login.microsoftonline.us",
        "https://management.usgovcloudapi.net/",
        "https://ml.azure.us",
        ("api.ml.azure.us", "inference.ml.azure.us"),
    ),
}


CUSTOM_CLOUD_PREFIX = "AirflowBatchML-"
SDK_CLOUD_VARIABLE = "AZUREML_CURRENT_CLOUD"


def forget_inherited_custom_cloud() -> None:
    """Drop a custom cloud name a parent process left in ``AZUREML_CURRENT_CLOUD``.

    azure-ai-ml records the cloud of every ``MLClient`` in that environment variable and, at import time,
    evaluates endpoint defaults for the cloud it names. A child process (an Airflow task forked from a
    worker that used a custom cloud, say) inherits the name but not the registration, and the import
    fails with "Unknown cloud environment". The hook registers its cloud again when it builds the client.
    """
    if "azure.ai.ml" not in sys.modules and os.environ.get(SDK_CLOUD_VARIABLE, "").startswith(CUSTOM_CLOUD_PREFIX):
        del os.environ[SDK_CLOUD_VARIABLE]


def custom_cloud_name(resource_manager_url: str, storage_endpoint: str | None = None) -> str:
    """A cloud name unique to one resource-manager URL and storage suffix (the SDK registers each name once)."""
    described = resource_manager_url if storage_endpoint is None else f"{resource_manager_url} {storage_endpoint}"
    digest = hashlib.sha256(described.encode()).hexdigest()[:12]
    return f"{CUSTOM_CLOUD_PREFIX}{digest}"


def custom_cloud_metadata(
    resource_manager_url: str, base: Cloud, storage_endpoint: str | None = None
) -> dict[str, str]:
    """The six keys azure-ai-ml needs to describe a cloud whose resource manager is ``resource_manager_url``.

    Scoring and data-plane calls ask for tokens scoped to ``aml_resource_id``; a custom resource manager
    also serves those, so both point at it. ``storage_endpoint`` is the suffix of the storage hosts the SDK
    uploads to and downloads from (``https://{account}.blob.{suffix}``); Azure's public one by default.
    """
    url = resource_manager_url if resource_manager_url.endswith("/") else resource_manager_url + "/"
    return {
        "azure_portal": url,
        "resource_manager": url,
        "active_directory": f"https://{base.authority_host}/",
        "aml_resource_id": url,
        "storage_endpoint": storage_endpoint or "core.windows.net",
        "registry_discovery_endpoint": url,
    }
