"""Running Airflow commands (``airflow dags test``) against the local stack, from tests.

Both the example-DAG tests and the canary-secret tests need the same thing: an environment that points
Airflow at a fresh AIRFLOW_HOME and at ``dags/``, a migrated metadata database, and the digits data seeded
into Azurite. Migration (a subprocess) and seeding (in this process) run side by side.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from airflow_batchml_emulator.stack import dags_test_env

ROOT = Path(__file__).resolve().parents[1]
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
