"""Celery end-to-end fixtures: the e2e suite's stack (PostgreSQL, Azurite, the emulator, the seeded demo
data and its REST client), reused as they are, with the Airflow cluster swapped for the compose file's
Celery topology (``cluster.py``) on a Redis broker.

Two endpoints carry the suite's jobs, both on the echo deployment (``deployment/``): ``celery-quick``
answers within seconds, ``celery-held`` holds each job until the test releases its input set. The
figures the scenarios measure (wall time, throughput) are printed at the end of the run and written to
``artifacts/e2e-celery/figures.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import conftest as e2e
from tests.e2e.airflow_cluster import ROOT
from tests.e2e.conftest import E2EStack, running_seeded
from tests.e2e_celery.cluster import CeleryCluster
from tests.e2e_celery.redis_server import RedisServer

DEPLOYMENT = Path(__file__).resolve().parent / "deployment" / "deployment.yml"
QUICK_ENDPOINT = "celery-quick"
HELD_ENDPOINT = "celery-held"
FIGURES_FILE = ROOT / "artifacts" / "e2e-celery" / "figures.json"
FIGURES: dict[str, dict] = {}

# The e2e suite's fixtures, used here as they are.
e2e_state, stack, postgres, api, digits_endpoint = e2e.e2e_state, e2e.stack, e2e.postgres, e2e.api, e2e.digits_endpoint


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def airflow(stack, postgres, redis, e2e_state) -> Iterator[CeleryCluster]:
    cluster = CeleryCluster(e2e_state / "airflow", postgres, redis.url, stack.emulator.airflow_env())
    with running_seeded(cluster, e2e_state):
        yield cluster


@pytest.fixture(scope="session")
def celery_endpoints(airflow, stack: E2EStack) -> dict[str, str]:
    """``celery-quick`` and ``celery-held`` with the echo deployment (the compute made if missing)."""
    from airflow_batchml.hooks import deployment_spec
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    with stack.connections():
        hook = AzureMLHook(polling_interval=0.5)
        hook.ensure_compute("batch-cluster")
        for endpoint, variables in ((QUICK_ENDPOINT, {}), (HELD_ENDPOINT, {"E2E_GATE_DIR": str(stack.gate_dir)})):
            deployment = deployment_spec.load_deployment(str(DEPLOYMENT))
            deployment.endpoint_name = endpoint
            deployment.environment_variables = variables
            hook.create_or_update_batch_endpoint(endpoint)
            hook.create_or_update_batch_deployment(deployment, set_default=True)
    return {"quick": QUICK_ENDPOINT, "held": HELD_ENDPOINT}


def upload_inputs(stack: E2EStack, folder: str, stem: str, count: int) -> None:
    """``count`` tiny files ``<folder>/<stem>-<n>.txt`` in the workspace's default datastore."""
    from concurrent.futures import ThreadPoolExecutor

    container = stack.container
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda n: container.upload_blob(f"{folder}/{stem}-{n:04d}.txt", f"{stem} {n}\n", overwrite=True),
                range(count),
            )
        )


def record_figures(scenario: str, **figures: object) -> None:
    """Keep a scenario's measured figures for the end-of-run summary (and print them for ``-s``)."""
    FIGURES[scenario] = figures
    print(f"\n[e2e-celery] {scenario}: {figures}")


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(json.dumps(FIGURES, indent=2) + "\n")
    terminalreporter.section("Celery end-to-end figures")
    for scenario, figures in FIGURES.items():
        terminalreporter.write_line(f"{scenario}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))
    terminalreporter.write_line(f"(written to {FIGURES_FILE.relative_to(ROOT)})")
