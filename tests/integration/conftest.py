"""Integration fixtures: a real Azurite, the real emulator process, and a real azure-ai-ml ``MLClient``.

Processes bind 127.0.0.1 on free ports, every wait is bounded, and teardown stops them by pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port}")


def _stop(proc: subprocess.Popen) -> int:
    """SIGTERM by pid, then SIGKILL if it does not stop in time; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
    return proc.returncode


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> str:
    """A fresh Azurite blob service; yields its connection string."""
    if not AZURITE.exists():
        pytest.skip("Azurite is not installed (run `make setup`)")
    port = free_port()
    location = tmp_path_factory.mktemp("azurite")
    args = ["--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location)]
    proc = subprocess.Popen([str(AZURITE), *args, "--skipApiVersionCheck", "--silent", "--disableTelemetry"])
    try:
        _wait_listening(port, proc, "Azurite")
        yield (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
    finally:
        _stop(proc)


class EmulatorProcess:
    """``python -m airflow_batchml.emulator`` as a child process, restartable on the same state dir."""

    def __init__(self, state_dir: Path, storage_connection_string: str) -> None:
        self.state_dir = state_dir
        self.storage_connection_string = storage_connection_string
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.connection_json = state_dir / "connection.json"
        self.wasb_connection_json = state_dir / "wasb_connection.json"
        self.proc: subprocess.Popen | None = None
        self.last_exit_code: int | None = None

    def start(self) -> None:
        self.connection_json.unlink(missing_ok=True)
        command = [sys.executable, "-m", "airflow_batchml.emulator", "--state-dir", str(self.state_dir)]
        command += ["--port", str(self.port), "--storage-connection-string", self.storage_connection_string]
        log_file = (self.state_dir / "emulator.log").open("a")
        self.proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.connection_json.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The emulator did not start; see {self.state_dir / 'emulator.log'}")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc is not None:
            self.last_exit_code = _stop(self.proc)
            self.proc = None
        return self.last_exit_code

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def connection(self) -> dict:
        return json.loads(self.connection_json.read_text())

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


@pytest.fixture(scope="session")
def emulator(azurite, tmp_path_factory) -> EmulatorProcess:
    process = EmulatorProcess(tmp_path_factory.mktemp("emulator-state"), azurite)
    process.start()
    try:
        yield process
    finally:
        process.stop()


class StaticTokenCredential:
    """A TokenCredential that always returns the emulator's bearer token, for any scope."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)


@pytest.fixture(scope="session")
def ml_client(emulator):
    """The real azure-ai-ml client pointed at the emulator through custom cloud metadata."""
    from azure.ai.ml import MLClient

    os.environ.setdefault("AZUREML_RUN_POLLING_INTERVAL_MIN", "0")
    os.environ.setdefault("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    extra = emulator.connection["extra"]
    url = emulator.url + "/"
    return MLClient(
        credential=StaticTokenCredential(extra["token"]),
        subscription_id=extra["subscription_id"],
        resource_group_name=extra["resource_group"],
        workspace_name=extra["workspace_name"],
        cloud=f"AzureMLEmulator{emulator.port}",
        cloud_metadata={
            "azure_portal": url,
            "resource_manager": url,
            "active_directory": url,
            "aml_resource_id": url,
            "storage_endpoint": "core.windows.net",
            "registry_discovery_endpoint": url,
        },
        connection_verify=extra["ca_bundle"],
        show_progress=False,
    )
