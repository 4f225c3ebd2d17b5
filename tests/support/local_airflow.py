"""Running Airflow commands (``airflow dags test``) against the local stack, from tests.

Both the example-DAG tests and the canary-secret tests need the same thing: an environment that points
Airflow at a fresh AIRFLOW_HOME and at ``dags/``, a migrated metadata database, and the digits data seeded
into Azurite. Migration (a subprocess) and seeding (in this process) run side by side.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from airflow_batchml_emulator.stack import dags_test_env

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"


def airflow_env(home: Path, **overrides: str) -> dict[str, str]:
    """The ``airflow dags test`` environment for the example DAGs, with the repo importable too."""
    pythonpath = os.pathsep.join(filter(None, [str(DAGS), str(ROOT), os.environ.get("PYTHONPATH")]))
    return dags_test_env(home, DAGS, PYTHONPATH=pythonpath, **overrides)


@contextlib.contextmanager
def migrated_and_seeded(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Migrate ``env``'s AIRFLOW_HOME while the digits data is seeded (connections from os.environ)."""
    migrate = subprocess.Popen(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    sys.path.insert(0, str(DAGS))
    try:
        from digits.seed import seed

        assert seed() == 450
        output, _ = migrate.communicate(timeout=180)
        assert migrate.returncode == 0, output[-3000:]
        yield env
    finally:
        if migrate.poll() is None:
            migrate.kill()
            migrate.wait()
        sys.path.remove(str(DAGS))


DATASTORE = "azureml://datastores/workspaceblobstore/paths"
FINISHED = re.compile(r"DagRun Finished: dag_id=(\S+),.* state=(\w+)")


def dags_test(env: dict[str, str], dag_id: str, *args: str, conf: dict | None = None) -> str:
    """``airflow dags test``; asserts the run succeeded and returns its log."""
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id, *args]
    if conf is not None:
        command += ["-c", json.dumps(conf)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=280, check=False)
    output = result.stdout + result.stderr
    finished = FINISHED.findall(output)
    assert result.returncode == 0 and finished == [(dag_id, "success")], output[-6000:]
    return output


def copy_images(storage, folder: str, count: int, first: int = 0) -> list[str]:
    """Copy seeded test images into ``folder``; returns their file names."""
    names = [f"digit-{index:04d}.png" for index in range(first, first + count)]
    for name in names:
        data = storage.get_blob_client(f"digits/images/{name}").download_blob().readall()
        storage.get_blob_client(f"{folder}/{name}").upload_blob(data, overwrite=True)
    return names


def jobs_requested_as(emulator, requested: str) -> list[dict]:
    """The emulator's job records whose request named ``requested`` (Azure ML keeps it as the display name)."""
    return [job for job in emulator_jobs(emulator).values() if job["request"].get("name") == requested]


def emulator_jobs(emulator) -> dict[str, dict]:
    """The emulator's own job records (status, spec, progress) by the service's job name."""
    return {job["name"]: job for job in emulator.request("GET", "/_emulator/jobs").json()["value"]}
