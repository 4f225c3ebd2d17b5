"""Clouds: the known ones, the custom cloud's name and metadata for azure-ai-ml, and the inherited cloud name."""

from __future__ import annotations

import os
import sys

import pytest

from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.hooks.clouds import (
    CLOUDS,
    CUSTOM_CLOUD_PREFIX,
    SDK_CLOUD_VARIABLE,
    custom_cloud_metadata,
    custom_cloud_name,
    forget_inherited_custom_cloud,
)

EMULATOR = "https://127.0.0.1:8443/"


def test_each_cloud_is_listed_under_its_own_name_with_an_https_resource_manager():
    assert sorted(CLOUDS) == ["AzureChinaCloud", "AzureCloud", "AzureUSGovernment"]
    for name, cloud in CLOUDS.items():
        assert cloud.name == name
        assert cloud.resource_manager.startswith("https://") and cloud.resource_manager.endswith("/")


def test_a_custom_cloud_name_is_stable_and_unique_to_its_url():
    name = custom_cloud_name(EMULATOR)
    assert name == custom_cloud_name(EMULATOR)
    assert name.startswith(CUSTOM_CLOUD_PREFIX) and len(name) == len(CUSTOM_CLOUD_PREFIX) + 12
    assert name != custom_cloud_name("https://127.0.0.1:9443/")


def test_custom_cloud_metadata_points_every_endpoint_at_the_resource_manager():
    metadata = custom_cloud_metadata("https://127.0.0.1:8443", CLOUDS["AzureChinaCloud"])
    assert metadata == {
        "azure_portal": EMULATOR,
        "resource_manager": EMULATOR,
        "active_directory": "https://login.chinacloudapi.cn/",
        "aml_resource_id": EMULATOR,
        "storage_endpoint": "core.windows.net",
        "registry_discovery_endpoint": EMULATOR,
    }


def test_storage_endpoint_goes_into_the_custom_clouds_metadata(azure_ml_conn):
    url = "https://127.0.0.1:8443/"
    settings = AzureMLHook(
        azure_ml_conn_id=azure_ml_conn(resource_manager_url=url, storage_endpoint="core.azureml.test")
    ).settings
    assert settings.storage_endpoint == "core.azureml.test"
    metadata = custom_cloud_metadata(url, CLOUDS["AzureCloud"], settings.storage_endpoint)
    assert metadata["storage_endpoint"] == "core.azureml.test"
    assert custom_cloud_metadata(url, CLOUDS["AzureCloud"])["storage_endpoint"] == "core.windows.net"
    # the SDK registers a cloud name once: another storage suffix needs another name
    assert custom_cloud_name(url, "core.azureml.test") != custom_cloud_name(url) == custom_cloud_name(url, None)


@pytest.fixture
def sdk_not_imported(monkeypatch):
    """A fresh process's ``sys.modules`` (azure.ai.ml not imported yet): only the key is removed, for this test."""
    monkeypatch.delitem(sys.modules, "azure.ai.ml", raising=False)


def test_an_inherited_custom_cloud_name_is_dropped_before_the_sdk_is_imported(sdk_not_imported, monkeypatch):
    monkeypatch.setenv(SDK_CLOUD_VARIABLE, custom_cloud_name(EMULATOR))
    forget_inherited_custom_cloud()
    assert SDK_CLOUD_VARIABLE not in os.environ


def test_an_inherited_azure_cloud_name_is_kept(sdk_not_imported, monkeypatch):
    monkeypatch.setenv(SDK_CLOUD_VARIABLE, "AzureChinaCloud")
    forget_inherited_custom_cloud()
    assert os.environ[SDK_CLOUD_VARIABLE] == "AzureChinaCloud"


def test_a_custom_cloud_name_is_kept_once_the_sdk_is_imported(monkeypatch):
    import azure.ai.ml  # noqa: F401  (imported: too late to help, and the hook registers its cloud again)

    monkeypatch.setenv(SDK_CLOUD_VARIABLE, custom_cloud_name(EMULATOR))
    forget_inherited_custom_cloud()
    assert os.environ[SDK_CLOUD_VARIABLE] == custom_cloud_name(EMULATOR)
