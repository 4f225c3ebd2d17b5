"""The local stack: Azurite (Microsoft's storage emulator) plus this emulator, as child processes.

Used by ``make demo``, the test fixtures and anyone who wants the embedded default by hand
(``python -m airflow_batchml_emulator.stack --state-dir DIR`` prints the two connection variables and the
storage-proxy variables, and runs until interrupted). Both processes bind 127.0.0.1 on free ports, every
wait is bounded, and ``stop()`` ends them by pid.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_TIMEOUT = 60.0
TOKEN_VARIABLE = "AZURE_ML_EMULATOR_TOKEN"
STORAGE_VARIABLE = "AZURE_ML_EMULATOR_STORAGE_CONNECTION_STRING"
HONOUR_NAMES_VARIABLE = "AZUREML_EMULATOR_HONOUR_JOB_NAMES"
STOP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def azurite_binary() -> str:
    """``AZURITE_BIN``, the project's ``node_modules/.bin/azurite-blob``, or one on PATH."""
    candidates = [os.environ.get("AZURITE_BIN"), str(Path.cwd() / "node_modules" / ".bin" / "azurite-blob")]
    candidates.append(shutil.which("azurite-blob"))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise FileNotFoundError("azurite-blob not found: run `npm install` (package.json) or set AZURITE_BIN")


def azurite_connection_string(port: int, account: str = ACCOUNT_NAME, key: str = ACCOUNT_KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={account};"
        f"AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/{account};"
    )


def stop_process(proc: subprocess.Popen | None) -> int | None:
    """SIGTERM by pid, SIGKILL if it does not stop in time; returns the exit code."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
    return proc.returncode


def wait_listening(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port}")


def dags_test_env(home: Path, dags_folder: Path, **overrides: str) -> dict[str, str]:
    """This process's environment plus what ``airflow dags test`` needs to run DAGs of ``dags_folder``
    deferrably in a fresh ``home`` (helper modules beside the DAGs importable, as Airflow makes them)."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(dags_folder), os.environ.get("PYTHONPATH")])),
        **overrides,
    }


class AzuriteProcess:
    """``azurite-blob`` on a free loopback port, data under ``location``.

    :param account: ``(name, base64 key)`` of a custom storage account (Azurite's ``AZURITE_ACCOUNTS``)
        instead of the well-known development account.
    """

    def __init__(self, location: Path, port: int | None = None, account: tuple[str, str] | None = None) -> None:
        self.location = location
        self.port = port or free_port()
        self.account = account
        self.proc: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.port, *(self.account or ()))

    def start(self) -> None:
        self.location.mkdir(parents=True, exist_ok=True)
        args = ["--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location", str(self.location)]
        args += ["--skipApiVersionCheck", "--silent", "--disableTelemetry"]
        log = (self.location / "azurite.log").open("a")
        env = {**os.environ, "AZURITE_ACCOUNTS": ":".join(self.account)} if self.account else None
        self.proc = subprocess.Popen([azurite_binary(), *args], stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_listening(self.port, self.proc, "Azurite")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


class EmulatorProcess:
    """``python -m airflow_batchml_emulator`` on a free port, restartable on the same state dir.

    :param token: the bearer token to require (default: one the emulator generates and keeps).
    :param honour_job_names: name batch jobs as requested (Azure ML names them ``batchjob-<guid>``); None
        leaves it to ``AZUREML_EMULATOR_HONOUR_JOB_NAMES``.
    """

    def __init__(
        self,
        state_dir: Path,
        storage_connection_string: str,
        port: int | None = None,
        token: str | None = None,
        honour_job_names: bool | None = None,
    ) -> None:
        self.honour_job_names = honour_job_names
        self.state_dir = state_dir
        self.storage_connection_string = storage_connection_string
        self.token_override = token
        self.port = port or free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.connection_json = state_dir / "connection.json"
        self.wasb_connection_json = state_dir / "wasb_connection.json"
        self.storage_env_json = state_dir / "storage_env.json"
        self.proc: subprocess.Popen | None = None
        self.last_exit_code: int | None = None

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.connection_json.unlink(missing_ok=True)
        command = [sys.executable, "-m", "airflow_batchml_emulator", "--state-dir", str(self.state_dir)]
        command += ["--port", str(self.port)]
        if self.honour_job_names is not None:
            command.append("--honour-job-names" if self.honour_job_names else "--no-honour-job-names")
        # Secrets travel in the environment, not the command line that every local user can read.
        env = {**os.environ, STORAGE_VARIABLE: self.storage_connection_string}
        if self.token_override:
            env[TOKEN_VARIABLE] = self.token_override
        log = (self.state_dir / "emulator.log").open("a")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.connection_json.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The emulator did not start; see {self.state_dir / 'emulator.log'}")
            time.sleep(0.1)

    def stop(self) -> int | None:
        if self.proc is not None:
            self.last_exit_code = stop_process(self.proc)
            self.proc = None
        return self.last_exit_code

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def connection(self) -> dict:
        return json.loads(self.connection_json.read_text())

    def airflow_env(self) -> dict[str, str]:
        """The two ``AIRFLOW_CONN_*`` variables that point Airflow at this stack."""
        return {
            "AIRFLOW_CONN_AZURE_ML_DEFAULT": self.connection_json.read_text(),
            "AIRFLOW_CONN_WASB_DEFAULT": self.wasb_connection_json.read_text(),
        }

    def storage_env(self) -> dict[str, str]:
        """``HTTPS_PROXY``, ``NO_PROXY`` and ``REQUESTS_CA_BUNDLE``: what lets azure-ai-ml upload to and download
        from the local storage itself (a connection without ``wasb_conn_id``); empty without a storage proxy."""
        return json.loads(self.storage_env_json.read_text()) if self.storage_env_json.exists() else {}


class LocalStack:
    """Azurite and the emulator together; a context manager that always stops both."""

    def __init__(self, state_dir: Path) -> None:
        self.azurite = AzuriteProcess(state_dir / "azurite")
        self.emulator = EmulatorProcess(state_dir / "emulator", self.azurite.connection_string)

    def __enter__(self) -> LocalStack:
        try:
            self.azurite.start()
            self.emulator.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.emulator.stop()
        self.azurite.stop()


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run Azurite and the Azure ML emulator until interrupted.")
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args()
    with LocalStack(args.state_dir) as stack:
        for key, value in stack.emulator.airflow_env().items():
            print(f"export {key}='{value}'")
        print("# azure-ai-ml's own storage calls (a connection without wasb_conn_id) need these too:")
        for key, value in stack.emulator.storage_env().items():
            print(f"export {key}='{value}'")
        sys.stdout.flush()
        signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        signal.sigwait(signals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
