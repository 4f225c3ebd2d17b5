"""Integration fixtures: a real Azurite, the real emulator process, and a real azure-ai-ml ``MLClient``.

Processes bind 127.0.0.1 on free ports, every wait is bounded, and teardown stops them by pid.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from airflow_batchml.hooks.credentials import StaticTokenCredential
from airflow_batchml_emulator.stack import HONOUR_NAMES_VARIABLE, AzuriteProcess, EmulatorProcess

ROOT = Path(__file__).resolve().parents[2]


class TestEmulator(EmulatorProcess):
    """The emulator process plus a plain HTTPS client for its admin routes."""

    @property
    def token(self) -> str:
        return self.connection["extra"]["token"]

    @property
    def ca_bundle(self) -> str:
        return self.connection["extra"]["ca_bundle"]

    def request(self, method: str, path: str, token: str | None = "default", **kwargs) -> requests.Response:
        """A plain HTTPS request to the emulator, with its token unless ``token`` says otherwise."""
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        return requests.request(method, self.url + path, headers=headers, verify=self.ca_bundle, timeout=30, **kwargs)

    def job_log(self, name: str) -> str:
        """A job's log, read the way ``jobs.stream`` reads it: run history's signed log URL."""
        extra = self.connection["extra"]
        workspace = (
            f"/subscriptions/{extra['subscription_id']}/resourceGroups/{extra['resource_group']}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{extra['workspace_name']}"
        )
        details = self.request("GET", f"/history/v1.0{workspace}/runs/{name}/details").json()
        log_url = details["logFiles"]["user_logs/std_log.txt"]
        return requests.get(log_url, verify=self.ca_bundle, timeout=30).text


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> str:
    """A fresh Azurite blob service; yields its connection string."""
    process = AzuriteProcess(tmp_path_factory.mktemp("azurite"))
    process.start()
    try:
        yield process.connection_string
    finally:
        process.stop()


@pytest.fixture(scope="session")
def emulator(azurite, tmp_path_factory) -> TestEmulator:
    """The emulator, naming batch jobs as Azure does unless AZUREML_EMULATOR_HONOUR_JOB_NAMES=1."""
    honour = os.environ.get(HONOUR_NAMES_VARIABLE) == "1"
    process = TestEmulator(tmp_path_factory.mktemp("emulator-state"), azurite, honour_job_names=honour)
    process.start()
    try:
        yield process
    finally:
        process.stop()


NAMING_MODES = ("service-names", "requested-names")
# Runs a test once per naming mode: the service names batch jobs itself, as Azure ML does, or keeps requested names.
both_namings = pytest.mark.parametrize("naming", NAMING_MODES, indirect=True)


def naming_mode(emulator: EmulatorProcess) -> str:
    """``requested-names`` for an emulator started with --honour-job-names, else ``service-names``."""
    return NAMING_MODES[1] if emulator.honour_job_names else NAMING_MODES[0]


@pytest.fixture(scope="session")
def emulators(azurite, emulator, tmp_path_factory) -> dict[str, TestEmulator]:
    """Both naming modes by name: ``emulator``, and a second emulator on the same Azurite naming jobs the other way.

    The two share the datastore containers, so tests running in both modes keep their keys (and so their
    output folders) apart, e.g. with the mode in the run id."""
    other = TestEmulator(
        tmp_path_factory.mktemp("emulator-other-naming"), azurite, honour_job_names=not emulator.honour_job_names
    )
    other.start()
    try:
        yield {naming_mode(process): process for process in (emulator, other)}
    finally:
        other.stop()


@pytest.fixture
def naming(request, emulator) -> str:
    """The test's naming mode: its ``naming`` parameter (``both_namings``), else the mode ``emulator`` runs in."""
    return getattr(request, "param", naming_mode(emulator))


def emulator_ml_client(emulator: EmulatorProcess, cloud: str, storage_endpoint: str = "core.windows.net"):
    """The real azure-ai-ml client pointed at the emulator through custom cloud metadata named ``cloud``."""
    from azure.ai.ml import MLClient

    extra = emulator.connection["extra"]
    url = emulator.url + "/"
    return MLClient(
        credential=StaticTokenCredential(extra["token"]),
        subscription_id=extra["subscription_id"],
        resource_group_name=extra["resource_group"],
        workspace_name=extra["workspace_name"],
        cloud=f"{cloud}{emulator.port}",
        cloud_metadata={
            "azure_portal": url,
            "resource_manager": url,
            "active_directory": url,
            "aml_resource_id": url,
            "storage_endpoint": storage_endpoint,
            "registry_discovery_endpoint": url,
        },
        connection_verify=extra["ca_bundle"],
        show_progress=False,
        polling_interval=0.5,  # ARM creates poll at this pace (no Retry-After, as Azure answers); deletes 5 s
    )


@pytest.fixture(scope="session")
def ml_client(emulator):
    """The real azure-ai-ml client pointed at the emulator."""
    os.environ.setdefault("AZUREML_RUN_POLLING_INTERVAL_MIN", "0")
    os.environ.setdefault("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    return emulator_ml_client(emulator, "AzureMLEmulator")
