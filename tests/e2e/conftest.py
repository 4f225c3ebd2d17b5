"""End-to-end fixtures: PostgreSQL, Azurite, the emulator and a real Airflow 3 (four components), once per
session, all on 127.0.0.1 and all stopped by pid at teardown.

The demo's own set-up runs first, the way a user would do it: ``dags/digits/seed.py`` (models and images),
then the ``digits_batch_scoring`` DAG triggered through the REST API (compute, endpoint, deployment, a
first scoring job). The restart tests add a second endpoint, ``digits-held``, whose scoring script waits
for the test to release it, so a job is reliably still running while a component restarts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from airflow_batchml_emulator.stack import AzuriteProcess
from tests.e2e.airflow_cluster import PASSWORD, ROOT, USERNAME, AirflowCluster
from tests.e2e.api import AirflowApi
from tests.e2e.postgres import PostgresServer
from tests.support.stack import TestEmulator

CONTAINER = "azureml-blobstore"
HELD_DEPLOYMENT = Path(__file__).resolve().parent / "held_deployment" / "deployment.yml"
SETUP_TIMEOUT = 240


class E2EStack:
    """Azurite plus the emulator (with its admin client), and blob helpers for the tests."""

    def __init__(self, state: Path) -> None:
        self.azurite = AzuriteProcess(state / "azurite")
        self.emulator = TestEmulator(state / "emulator", self.azurite.connection_string)
        self.gate_dir = state / "gates"

    def start(self) -> None:
        self.gate_dir.mkdir(parents=True, exist_ok=True)
        self.azurite.start()
        self.emulator.start()

    def stop(self) -> None:
        self.emulator.stop()
        self.azurite.stop()

    @property
    def container(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.azurite.connection_string).get_container_client(CONTAINER)

    def jobs(self, endpoint: str | None = None) -> list[dict]:
        """The emulator's own records of every job (its token-protected admin route)."""
        response = self.emulator.request("GET", "/_emulator/jobs")
        response.raise_for_status()
        return [job for job in response.json()["value"] if endpoint in (None, job["endpoint"])]

    def copy_digits(self, folder: str, stem: str, count: int, first: int = 0) -> str:
        """Copy ``count`` seeded digit images to ``<folder>/<stem>-<n>.png``; returns the folder's datastore URI."""
        container = self.container
        for index in range(count):
            data = container.download_blob(f"digits/images/digit-{first + index:04d}.png").readall()
            container.upload_blob(f"{folder}/{stem}-{index:04d}.png", data, overwrite=True)
        return f"azureml://datastores/workspaceblobstore/paths/{folder}/"

    def release(self, stem: str) -> None:
        """Let the held scoring script go on with the input set ``stem``."""
        (self.gate_dir / stem).touch()

    @contextmanager
    def connections(self) -> Iterator[None]:
        """The two ``AIRFLOW_CONN_*`` variables in this process, for a hook call, then restored."""
        saved = dict(os.environ)
        os.environ.update(self.emulator.airflow_env())
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="session")
def e2e_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def stack(e2e_state) -> Iterator[E2EStack]:
    stack = E2EStack(e2e_state)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def airflow(stack, postgres, e2e_state) -> Iterator[AirflowCluster]:
    cluster = AirflowCluster(e2e_state / "airflow", postgres.url, stack.emulator.airflow_env())
    with running_seeded(cluster, e2e_state):
        yield cluster


@contextmanager
def running_seeded(cluster: AirflowCluster, e2e_state: Path) -> Iterator[AirflowCluster]:
    """Migrated and running, with the demo data seeded (in parallel with the start-up); stopped at the end."""
    seeding = subprocess.Popen(
        [sys.executable, str(ROOT / "dags" / "digits" / "seed.py")],
        env={**cluster.env, "AIRFLOW_HOME": str(e2e_state / "seed-home")},
        stdout=(e2e_state / "seed.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        cluster.migrate()
        cluster.start_all()
        assert seeding.wait(timeout=SETUP_TIMEOUT) == 0, (e2e_state / "seed.log").read_text()[-3000:]
        yield cluster
    finally:
        if seeding.poll() is None:
            seeding.kill()
            seeding.wait()
        cluster.stop_all()


@pytest.fixture(scope="session")
def api(airflow) -> AirflowApi:
    return AirflowApi(airflow.url, USERNAME, PASSWORD)


@pytest.fixture(scope="session")
def digits_endpoint(api) -> dict:
    """The demo's DAG, run through the REST API: compute, endpoint ``digits-batch``, default deployment."""
    api.unpause("digits_batch_scoring")
    run = api.trigger("digits_batch_scoring")
    run = api.wait_run("digits_batch_scoring", run["dag_run_id"], timeout=SETUP_TIMEOUT)
    assert run["state"] == "success", api.failure_report("digits_batch_scoring", run["dag_run_id"])
    return api.xcom("digits_batch_scoring", run["dag_run_id"], "report_accuracy")


@pytest.fixture(scope="session")
def held_endpoint(digits_endpoint, stack) -> str:
    """Endpoint ``digits-held``: the digits model behind the held scoring script (needs the compute)."""
    from airflow_batchml.hooks import deployment_spec
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    deployment = deployment_spec.load_deployment(str(HELD_DEPLOYMENT))
    deployment.environment_variables = {"E2E_GATE_DIR": str(stack.gate_dir)}
    with stack.connections():
        hook = AzureMLHook(polling_interval=0.5)
        hook.create_or_update_batch_endpoint("digits-held")
        hook.create_or_update_batch_deployment(deployment, set_default=True)
    return "digits-held"
