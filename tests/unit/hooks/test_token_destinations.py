"""The token-destination rule: the resource manager and the workspace region's Azure ML hosts, nothing else."""

from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings
from airflow_batchml.hooks.token_destinations import check_token_destination

AZURE = AzureMLConnectionSettings("sub", "rg", "ws")
CHINA = AzureMLConnectionSettings("sub", "rg", "ws", cloud="AzureChinaCloud")
EMULATOR = AzureMLConnectionSettings("sub", "rg", "ws", resource_manager_url="https://127.0.0.1:8443/")


class Region:
    """The workspace-region lookup, counting its calls (each is a resource-manager request)."""

    def __init__(self, region: str = "eastus") -> None:
        self.region, self.calls = region, 0

    def __call__(self) -> str:
        self.calls += 1
        return self.region


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (AZURE, "https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub/PipelineRuns/PipelineSubmit/p"),
        (AZURE, "https://ws-guid.workspace.eastus.api.azureml.ms/pipelines/v1.0/x"),
        (AZURE, "https://digits.eastus.inference.ml.azure.com/jobs"),
        (AZURE, "https://EastUS.API.AzureML.ms:443/x"),
        (AZURE, "https://management.azure.com/subscriptions/sub"),
        (CHINA, "https://eastus.api.ml.azure.cn/x"),
        (EMULATOR, "https://127.0.0.1:8443/pipelines/v1.0/x"),
    ],
)
def test_allowed(settings, url):
    check_token_destination(url, "rest_endpoint", settings, Region())


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (AZURE, "https://westus.api.azureml.ms/x"),
        (AZURE, "https://digits.westus.inference.ml.azure.com/jobs"),
    ],
)
def test_azure_ml_hosts_of_another_region_are_refused(settings, url):
    with pytest.raises(AzureMLConfigurationError, match=r"rest_endpoint.*allowed: .*eastus"):
        check_token_destination(url, "rest_endpoint", settings, Region())


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (AZURE, "https://attacker.example/steal"),
        (AZURE, "https://eastus.api.azureml.ms.attacker.example/x"),
        (AZURE, "https://management.azure.com@attacker.example/x"),
        (AZURE, "https://management.azure.com:8443/x"),
        (AZURE, "https://management.azure.com:x/x"),
        (AZURE, "http://eastus.api.azureml.ms/x"),
        (AZURE, "https://eastus.api.azureml.ms:8443/x"),
        (CHINA, "https://eastus.api.azureml.ms/x"),
        (AZURE, "https://attacker.example/eastus.api.azureml.ms"),
        (EMULATOR, "https://127.0.0.1:9443/x"),
        (EMULATOR, "https://localhost:8443/x"),
    ],
)
def test_foreign_hosts_are_refused_before_any_call(settings, url):
    region = Region()
    with pytest.raises(AzureMLConfigurationError, match="rest_endpoint") as raised:
        check_token_destination(url, "rest_endpoint", settings, region)
    assert region.calls == 0
    assert "attacker" not in str(raised.value).partition("allowed:")[2]
