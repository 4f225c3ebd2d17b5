"""Fixtures for driving the plugin's hooks against the emulator, through Airflow connections.

The connections come from the files the emulator writes, set as ``AIRFLOW_CONN_*`` variables exactly as
a user would, so the hook reads them through Airflow's own connection lookup.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.hooks.job_status import AzureMLJobStatus
from tests.support.stack import naming_mode

DATA = Path(__file__).resolve().parents[1] / "integration" / "data"
DIGITS_ENDPOINT = "digits-batch"
JOB_DEADLINE = 180.0


@pytest.fixture(scope="session")
def airflow_connections(emulator):
    """Register the emulator's azure_ml and wasb connections for the whole session."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_AZURE_ML_DEFAULT", emulator.connection_json.read_text())
        patch.setenv("AIRFLOW_CONN_WASB_DEFAULT", emulator.wasb_connection_json.read_text())
        yield emulator


@pytest.fixture
def service(request, naming, emulator, airflow_connections, monkeypatch):
    """The emulator of the test's naming mode (``emulator`` unless ``both_namings`` asks for the other), the
    connections pointing at it for the test."""
    if naming == naming_mode(emulator):
        return emulator
    chosen = request.getfixturevalue("emulators")[naming]  # the second emulator starts only when a test needs it
    for key, value in chosen.airflow_env().items():
        monkeypatch.setenv(key, value)
    return chosen


@pytest.fixture
def hook(service) -> AzureMLHook:
    return AzureMLHook(polling_interval=0.5)


@pytest.fixture
def wasb(service):
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    return WasbHook(wasb_conn_id="wasb_default")


@pytest.fixture(scope="session")
def container(airflow_connections) -> str:
    """The container of the workspace's default datastore."""
    return AzureMLHook().get_client().datastores.get("workspaceblobstore").container_name


@pytest.fixture(scope="module")
def digits_deployments(airflow_connections) -> dict:
    """Compute, the digits endpoint and both its deployments (logreg the default), created once per module."""
    hook = AzureMLHook(polling_interval=0.5)
    compute = hook.ensure_compute("batch-cluster", max_instances=2)
    endpoint = hook.create_or_update_batch_endpoint(yaml_path=str(DATA / "endpoint.yml"))
    logreg = hook.create_or_update_batch_deployment(str(DATA / "deployment.yml"), set_default=True)
    forest = hook.create_or_update_batch_deployment(str(DATA / "deployment-flat.yml"))
    return {"compute": compute, "endpoint": endpoint, "logreg": logreg, "forest": forest}


@pytest.fixture(scope="module")
def scoring_endpoint(airflow_connections) -> str:
    """``sensor-batch``: an endpoint whose default deployment is the digits logreg one."""
    hook = AzureMLHook(polling_interval=0.5)
    hook.ensure_compute("batch-cluster")
    hook.create_or_update_batch_endpoint("sensor-batch")
    hook.create_or_update_batch_deployment(str(DATA / "deployment.yml"), endpoint_name="sensor-batch", set_default=True)
    return "sensor-batch"


def wait_for_job(
    hook: AzureMLHook, job_name: str, deadline: float = JOB_DEADLINE, statuses: frozenset | set | None = None
) -> dict:
    """Poll until the job is in ``statuses`` (default: terminal; bounded); returns the hook's job dict."""
    end = time.monotonic() + deadline
    statuses = statuses or AzureMLJobStatus.TERMINAL_STATUSES
    while True:
        job = hook.get_job(job_name)
        if job["status"] in statuses:
            return job
        if time.monotonic() > end:
            raise AssertionError(f"job {job_name} still {job['status']} after {deadline} s")
        time.sleep(0.3)


def upload_inputs(wasb, container: str, prefix: str, count: int) -> str:
    """Write ``count`` small files under ``prefix`` and return the folder's datastore URI."""
    for index in range(count):
        wasb.load_string(f"sample {index}\n", container, f"{prefix}/sample-{index:03d}.txt", overwrite=True)
    return f"azureml://datastores/workspaceblobstore/paths/{prefix}/"


def deploy_script(hook: AzureMLHook, folder: Path, endpoint: str, name: str, script: str, **settings) -> str:
    """Deploy ``script`` (an init()/run() scoring script) as deployment ``name`` of ``endpoint``.

    Writes the code folder and an ``az ml``-form deployment YAML under ``folder`` and creates it through the
    hook; ``settings`` become the YAML's ``settings:`` block (mini_batch_size, retry_settings, ...).
    """
    import textwrap

    import yaml

    code = folder / name / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "score.py").write_text(textwrap.dedent(script))
    document = {
        "name": name,
        "endpoint_name": endpoint,
        "model": {"name": f"{name}-model", "path": str(DATA / "model")},
        "code_configuration": {"code": "code", "scoring_script": "score.py"},
        "environment": {"name": f"{name}-env", "image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"},
        "compute": "azureml:batch-cluster",
        "resources": {"instance_count": 1},
        "settings": {"max_concurrency_per_instance": 1, **settings},
    }
    path = folder / name / "deployment.yml"
    path.write_text(yaml.safe_dump(document))
    hook.create_or_update_batch_deployment(str(path))
    return name


SLOW_SCRIPT = """
    import time
    def init():
        pass
    def run(mini_batch):
        time.sleep(1.0)
        return [path for path in mini_batch]
"""
