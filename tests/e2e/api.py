"""A small client for Airflow's REST API v2, as an operations team would script it: a token from
``/auth/token``, then bearer requests. Every wait is bounded and says what it saw last on timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

FINISHED_RUN_STATES = frozenset({"success", "failed"})


class AirflowApi:
    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.session = requests.Session()
        self._token: str | None = None

    def token(self) -> str:
        response = self.session.post(
            f"{self.url}/auth/token", json={"username": self.username, "password": self.password}, timeout=30
        )
        assert response.status_code == 201, response.text
        return response.json()["access_token"]

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self._token is None:
            self._token = self.token()
        headers = {"Authorization": f"Bearer {self._token}"}
        response = self.session.request(method, f"{self.url}/api/v2{path}", headers=headers, timeout=30, **kwargs)
        if response.status_code == 401:
            self._token = None
            return self.request(method, path, **kwargs)
        return response

    def json(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> dict:
        response = self.request(method, path, **kwargs)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    # -- DAGs and runs ------------------------------------------------------------------------------

    def wait_dag(self, dag_id: str, timeout: float = 120) -> dict:
        """Until the dag-processor has parsed the DAG and the API serves it."""
        return wait_for(lambda: self._dag_or_none(dag_id), timeout, f"DAG {dag_id} to be parsed")

    def _dag_or_none(self, dag_id: str) -> dict | None:
        response = self.request("GET", f"/dags/{dag_id}")
        return response.json() if response.status_code == 200 else None

    def unpause(self, dag_id: str) -> dict:
        self.wait_dag(dag_id)
        return self.json("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def reparse(self, dag_id: str) -> None:
        """Ask the dag-processor to parse the DAG's file now (the UI's "Reparse Dag" button)."""
        file_token = self.json("GET", f"/dags/{dag_id}/details")["file_token"]
        self.json("PUT", f"/parseDagFile/{file_token}", expected=201)

    def pause(self, dag_id: str) -> dict:
        return self.json("PATCH", f"/dags/{dag_id}", json={"is_paused": True})

    def trigger(self, dag_id: str, conf: dict | None = None) -> dict:
        return self.json("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})

    def runs(self, dag_id: str) -> list[dict]:
        return self.json("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "run_after", "limit": 100})["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.json("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> dict:
        """Until the run has finished; returns it (the caller asserts the state)."""
        return wait_for(
            lambda: (run := self.run(dag_id, run_id))["state"] in FINISHED_RUN_STATES and run,
            timeout,
            f"run {run_id} of {dag_id} to finish",
            last=lambda: self.task_states(dag_id, run_id),
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.json("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {_ti_key(ti): ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def failure_report(self, dag_id: str, run_id: str, lines: int = 40) -> str:
        """The run's task states, then the last ``lines`` log records of each failed task (its latest try):
        what an assertion on a run's state must show, since the cluster's files are gone with CI's runner."""
        report = [f"task states: {self.task_states(dag_id, run_id)}"]
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] != "failed":
                continue
            path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{ti['try_number']}"
            response = self.request("GET", path, params={"map_index": ti["map_index"], "full_content": True})
            records = response.json().get("content", []) if response.ok else [response.text]
            report.append(f"--- log of {_ti_key(ti)}, try {ti['try_number']} ---")
            report.extend(_log_line(record) for record in records[-lines:])
        return "\n".join(report)

    def wait_task_state(self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float) -> dict:
        def reached() -> dict | None:
            for ti in self.task_instances(dag_id, run_id):
                if ti["task_id"] == task_id and ti["state"] == state:
                    return ti
            return None

        return wait_for(
            reached, timeout, f"{task_id} of {run_id} to be {state}", last=lambda: self.task_states(dag_id, run_id)
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.json("GET", path, params={"map_index": map_index, "deserialize": True})["value"]


def _ti_key(ti: dict) -> str:
    return ti["task_id"] if ti.get("map_index", -1) < 0 else f"{ti['task_id']}[{ti['map_index']}]"


def _log_line(record: Any) -> str:
    if not isinstance(record, dict):
        return str(record)
    extra = {key: value for key, value in record.items() if key not in ("timestamp", "event", "level", "logger")}
    return f"{record.get('level', '')} {record.get('event', '')} {extra or ''}".rstrip()


def wait_for(check: Callable[[], Any], timeout: float, what: str, last: Callable[[], Any] | None = None) -> Any:
    """Poll ``check`` until it returns something truthy; on timeout, fail naming ``what`` and ``last()``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            seen = f"; last seen: {last()}" if last else ""
            raise TimeoutError(f"Timed out after {timeout:.0f} s waiting for {what}{seen}")
        time.sleep(1)
