"""A real Airflow 3 on loopback, one process per component, for the end-to-end tests.

The topology of the official compose file run natively: ``api-server``, ``scheduler`` (LocalExecutor),
``dag-processor`` and ``triggerer`` as separate processes sharing one ``AIRFLOW_HOME`` and a PostgreSQL
metadata database, with the simple auth manager (user ``admin``, password ``admin``, from a password file
under ``AIRFLOW_HOME``) and the ``azure_ml`` / ``wasb_default`` connections given as ``AIRFLOW_CONN_*``.
Each component runs in its own process group, so stopping it (by pid) also ends its children — the
scheduler's task processes included — and each can be stopped and started again on its own.

Other topologies (another executor, several triggerers or workers) pass their own ``components`` and
``env``; a component named ``<kind>-<n>`` (``triggerer-2``) runs as its kind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

from airflow_batchml_emulator.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEARTBEATS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
USERNAME = PASSWORD = "admin"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


class AirflowCluster:
    """The four components; ``start``/``stop``/``restart`` one by name, ``stop_all`` at teardown.

    :param components: the processes ``start_all`` starts, in order (default: the four above).
    :param env: Airflow settings over the defaults below (``AIRFLOW__CORE__EXECUTOR``...).
    """

    def __init__(
        self,
        home: Path,
        database_url: str,
        connections: dict[str, str],
        components: tuple[str, ...] = COMPONENTS,
        env: dict[str, str] | None = None,
    ) -> None:
        from cryptography.fernet import Fernet

        self.home = home
        self.components = components
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
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the connection form's Test button (test_connection_form)
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "DIGITS_WATCH_POLL_INTERVAL": "5",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "dags"), str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.env.update(env or {})
        for key in ("AIRFLOW__CORE__UNIT_TEST_MODE", "AIRFLOW_CONFIG"):
            self.env.pop(key, None)

    def command(self, component: str) -> list[str]:
        airflow = [sys.executable, "-m", "airflow"]
        kind = component_kind(component)
        if kind == "api-server":
            return [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        if kind in ("scheduler", "triggerer"):
            return [*airflow, kind, "--skip-serve-logs"]
        return [*airflow, kind]

    def component_env(self, component: str) -> dict[str, str]:
        """The environment ``component`` starts with (the same for all here)."""
        return self.env

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
            self.command(component),
            env=self.component_env(component),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop(self, component: str, sig: int = signal.SIGTERM) -> int | None:
        """Signal the component's process group, wait (bounded), then kill what is left of the group and of
        the groups its descendants lead (a task process leads one of its own)."""
        proc = self.procs.pop(component, None)
        if proc is None:
            return None
        descendants = _descendants(proc.pid)
        _signal_group(proc.pid, sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)
        _signal_group(proc.pid, signal.SIGKILL)  # children that outlived their parent
        _kill_all(descendants)
        return proc.returncode

    def kill(self, component: str) -> int | None:
        """SIGKILL the component and everything it started at once, as a lost machine would."""
        proc = self.procs.pop(component, None)
        if proc is None:
            return None
        descendants = _descendants(proc.pid)
        _signal_group(proc.pid, signal.SIGKILL)
        _kill_all(descendants)
        return proc.wait(timeout=STOP_TIMEOUT)

    def restart(self, component: str) -> None:
        since = time.time()
        self.stop(component)
        self.start(component)
        self.wait_healthy([component], since=since)

    def start_all(self) -> None:
        since = time.time()
        for component in self.components:
            self.start(component)
        self.wait_healthy(self.components, since=since)

    def stop_all(self) -> None:
        for component in reversed(self.components):
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
            waiting -= {component for component in waiting if self.is_healthy(component, health, since)}
            time.sleep(1)
        if waiting:
            raise TimeoutError(
                f"Airflow components not healthy within {timeout:.0f} s: {sorted(waiting)}; see {self.home}"
            )

    def is_healthy(self, component: str, health: dict, since: float) -> bool:
        """Whether the api-server's health report shows ``component`` with a heartbeat newer than ``since``."""
        if component == "api-server":
            return True
        key = HEARTBEATS[component_kind(component)]
        info = health.get(key) or {}
        beat = info.get(f"latest_{key}_heartbeat")
        return info.get("status") == "healthy" and bool(beat) and datetime.fromisoformat(beat).timestamp() > since

    def _check_running(self, components) -> None:
        for component in components:
            proc = self.procs.get(component)
            if proc is None or proc.poll() is not None:
                tail = self.log_path(component).read_text()[-3000:]
                raise RuntimeError(f"airflow {component} is not running:\n{tail}")


def component_kind(component: str) -> str:
    """``triggerer`` for ``triggerer-2``: what a numbered instance of a component runs as."""
    return re.sub(r"-\d+$", "", component)


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_all(processes: list) -> None:
    """SIGKILL each process and the group it leads, if still there (``psutil`` checks the pid is not reused)."""
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
            if not process.is_running():
                continue
            if os.getpgid(process.pid) == process.pid:
                _signal_group(process.pid, signal.SIGKILL)
            process.kill()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
