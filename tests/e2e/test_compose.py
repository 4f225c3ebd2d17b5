"""docker-compose.yaml, validated by a real compose parser (Debian's docker-compose runs `config` without
an engine; no container engine runs on these machines)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is installed by `make setup` (Debian package docker-compose)"
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yaml"), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "EMULATOR_TOKEN": "token-from-env"},
    )
    return yaml.safe_load(result.stdout)


def test_topology_matches_the_official_shape_plus_emulators(compose):
    assert set(compose["services"]) == AIRFLOW_SERVICES | {"postgres", "redis", "azurite", "emulator"}
    for name in AIRFLOW_SERVICES | {"emulator"}:
        assert compose["services"][name]["build"]["dockerfile"] == "docker/Dockerfile"
    for name, service in compose["services"].items():
        if name != "airflow-init":
            assert "healthcheck" in service, name


def test_plugin_connections_point_at_the_emulator_and_azurite(compose):
    env = compose["services"]["airflow-worker"]["environment"]
    azure_ml = json.loads(env["AIRFLOW_CONN_AZURE_ML_DEFAULT"])
    assert azure_ml["conn_type"] == "azure_ml"
    settings = AzureMLConnectionSettings(**azure_ml["extra"])
    assert settings.resource_manager_url == "https://emulator:8443/"
    assert settings.token == "token-from-env"
    emulator = compose["services"]["emulator"]
    assert "--public-host=emulator" in emulator["command"]
    assert emulator["environment"]["AZURE_ML_EMULATOR_TOKEN"] == "token-from-env"
    assert "AccountKey" not in " ".join(emulator["command"])  # secrets stay off the command line
    wasb = json.loads(env["AIRFLOW_CONN_WASB_DEFAULT"])
    assert "BlobEndpoint=http://azurite:10000/devstoreaccount1" in wasb["extra"]["connection_string"]


def test_dags_are_mounted_and_the_ca_shared(compose):
    for name in AIRFLOW_SERVICES:
        volumes = [str(v) for v in compose["services"][name]["volumes"]]
        assert any("/opt/airflow/dags" in v for v in volumes), name
        assert any("/emulator-state" in v for v in volumes), name
