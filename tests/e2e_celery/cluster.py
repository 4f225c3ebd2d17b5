"""The compose file's Celery topology on loopback: api-server, scheduler, dag-processor, two triggerers and
two Celery workers, on PostgreSQL with Redis as the broker (``tests/e2e/airflow_cluster.py`` runs them).

Settings that make failures show up within a test's time rather than production's: a triggerer that
stops heartbeating is dead after ``TRIGGERER_DEAD_AFTER`` s (its triggers go to the other), and a task
whose worker vanished is failed (then retried) after ``TASK_DEAD_AFTER`` s without a heartbeat.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.airflow_cluster import ROOT, AirflowCluster, component_kind
from tests.e2e.postgres import PostgresServer
from tests.e2e_celery.hostname import HOSTNAME_VARIABLE

WORKERS = ("worker-1", "worker-2")
TRIGGERERS = ("triggerer-1", "triggerer-2")
COMPONENTS = ("api-server", "scheduler", "dag-processor", *TRIGGERERS, *WORKERS)
WORKER_CONCURRENCY = 4
TRIGGERER_HEARTBEAT = 2
TRIGGERER_DEAD_AFTER = 10
TASK_DEAD_AFTER = 30
TEST_DAGS = Path(__file__).resolve().parent / "dags"


def dag_bundles() -> str:
    """The example DAGs and this suite's own, as two local bundles."""
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    return json.dumps(
        [
            {"name": "dags-folder", "classpath": local, "kwargs": {"path": str(ROOT / "dags")}},
            {"name": "e2e-celery", "classpath": local, "kwargs": {"path": str(TEST_DAGS)}},
        ]
    )


def celery_settings(postgres: PostgresServer, broker_url: str) -> dict[str, str]:
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres.url,
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "tests.e2e_celery.celery_config.CELERY_CONFIG",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.e2e_celery.hostname.component_hostname",
        "AIRFLOW__CORE__PARALLELISM": "64",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "64",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": dag_bundles(),
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": str(TRIGGERER_HEARTBEAT),
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(TRIGGERER_DEAD_AFTER),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_DEAD_AFTER),
    }


class CeleryCluster(AirflowCluster):
    """:class:`AirflowCluster` with Celery workers, several triggerers, and a host name per component."""

    def __init__(self, home: Path, postgres: PostgresServer, broker_url: str, connections: dict[str, str]) -> None:
        settings = celery_settings(postgres, broker_url)
        super().__init__(home, postgres.url, connections, components=COMPONENTS, env=settings)
        self.postgres = postgres
        self.broker_url = broker_url

    def command(self, component: str) -> list[str]:
        if component_kind(component) != "worker":
            return super().command(component)
        worker = [sys.executable, "-m", "airflow", "celery", "worker", "--celery-hostname", component]
        return [*worker, "--concurrency", str(WORKER_CONCURRENCY), "--skip-serve-logs"]

    def component_env(self, component: str) -> dict[str, str]:
        return {**self.env, HOSTNAME_VARIABLE: component}

    def is_healthy(self, component: str, health: dict, since: float) -> bool:
        kind = component_kind(component)
        if kind == "worker":
            return component in self.workers_answering()
        if kind == "triggerer":
            return component in self.triggerers_alive(since)
        return super().is_healthy(component, health, since)

    def workers_answering(self) -> set[str]:
        """The Celery workers that answer a broadcast ping, by component name."""
        from celery import Celery

        app = Celery(broker=self.broker_url)
        try:
            replies = app.control.ping(timeout=1.0)
        finally:
            app.close()
        return {name.split("@", 1)[1] for reply in replies for name in reply}

    def triggerers_alive(self, since: float = 0.0) -> set[str]:
        """Triggerer jobs still running with a heartbeat newer than ``since`` (and than the dead threshold)."""
        rows = self.postgres.query(
            "SELECT hostname, latest_heartbeat FROM job WHERE job_type = 'TriggererJob' AND state = 'running'"
            " AND latest_heartbeat > now() - make_interval(secs => %s)",
            TRIGGERER_DEAD_AFTER,
        )
        return {host for host, beat in rows if _epoch(beat) > since}

    def triggerer_job_ids(self) -> dict[int, str]:
        """Every triggerer job (its id) -> the component it ran in."""
        return dict(self.postgres.query("SELECT id, hostname FROM job WHERE job_type = 'TriggererJob'"))


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
