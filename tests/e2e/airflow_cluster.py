"""A real Airflow 3 on loopback, one process per component, for the end-to-end tests.

The topology of the official compose file run natively: ``api-server``, ``scheduler`` (LocalExecutor),
``dag-processor`` and ``triggerer`` as separate processes sharing one ``AIRFLOW_HOME`` and a PostgreSQL
metadata database, with the simple auth manager (user ``admin``, password ``admin``, from a password file
under ``AIRFLOW_HOME``) and the ``azure_ml`` / ``wasb_default`` connections given as ``AIRFLOW_CONN_*``.
Each component runs in its own process group, so stopping it (by pid) also ends its children — the
scheduler's task processes included — and each can be stopped and started again on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

from airflow_batchml.emulator.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEARTBEATS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
USERNAME = PASSWORD = "admin"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


class AirflowCluster:
    """The four components; ``start``/``stop``/``restart`` one by name, ``stop_all`` at teardown."""

    def __init__(self, home: Path, database_url: str, connections: dict[str, str]) -> None:
        from cryptography.fernet import Fernet

        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            **connections,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "DIGITS_WATCH_POLL_INTERVAL": "5",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "dags"), str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        for key in ("AIRFLOW__CORE__UNIT_TEST_MODE", "AIRFLOW_CONFIG"):
            self.env.pop(key, None)

    def command(self, component: str) -> list[str]:
        airflow = [sys.executable, "-m", "airflow"]
        if component == "api-server":
            return [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        if component in ("scheduler", "triggerer"):
            return [*airflow, component, "--skip-serve-logs"]
        return [*airflow, component]

    def migrate(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({USERNAME: PASSWORD}))
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed: {result.stdout[-3000:]}{result.stderr[-3000:]}")

    def log_path(self, component: str) -> Path:
        return self.home / f"{component}.log"

    def start(self, component: str) -> None:
        log = self.log_path(component).open("a")
        log.write(f"\n===== start {datetime.now().isoformat()} =====\n")
        log.flush()
        self.procs[component] = subprocess.Popen(
            self.command(component), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def stop(self, component: str, sig: int = signal.SIGTERM) -> int | None:
        """Signal the component's process group, wait (bounded), then kill what is left of the group."""
        proc = self.procs.pop(component, None)
        if proc is None:
            return None
        _signal_group(proc.pid, sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)
        _signal_group(proc.pid, signal.SIGKILL)  # children that outlived their parent
        return proc.returncode

    def restart(self, component: str) -> None:
        since = time.time()
        self.stop(component)
        self.start(component)
        self.wait_healthy([component], since=since)

    def start_all(self) -> None:
        since = time.time()
        for component in COMPONENTS:
            self.start(component)
        self.wait_healthy(COMPONENTS, since=since)

    def stop_all(self) -> None:
        for component in reversed(COMPONENTS):
            self.stop(component)

    def health(self) -> dict:
        return requests.get(f"{self.url}/api/v2/monitor/health", timeout=10).json()

    def wait_healthy(self, components, since: float, timeout: float = START_TIMEOUT) -> None:
        """Until the api-server answers and each other component has a heartbeat newer than ``since``."""
        deadline = time.monotonic() + timeout
        waiting = set(components)
        while waiting and time.monotonic() < deadline:
            self._check_running(components)
            try:
                health = self.health()
            except (requests.RequestException, ValueError):
                time.sleep(1)
                continue
            waiting.discard("api-server")
            for component in list(waiting):
                info = health.get(HEARTBEATS[component]) or {}
                beat = info.get(f"latest_{HEARTBEATS[component]}_heartbeat")
                if info.get("status") == "healthy" and beat and datetime.fromisoformat(beat).timestamp() > since:
                    waiting.discard(component)
            time.sleep(1)
        if waiting:
            raise TimeoutError(
                f"Airflow components not healthy within {timeout:.0f} s: {sorted(waiting)}; see {self.home}"
            )

    def _check_running(self, components) -> None:
        for component in components:
            proc = self.procs.get(component)
            if proc is None or proc.poll() is not None:
                tail = self.log_path(component).read_text()[-3000:]
                raise RuntimeError(f"airflow {component} is not running:\n{tail}")


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
