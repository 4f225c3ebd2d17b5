"""The emulator's pytest plugin, used exactly as a DAG author uses it.

``plugin_project/`` is a user's project: a DAG with its deployment files, and a test that asks for the
plugin's ``batchml_connections`` fixture and runs the DAG with ``dag.test()``. It is copied out of this repo
and run with a plain ``pytest`` in its own directory: none of this suite's conftests, fixtures or paths
apply, and the plugin is found through its entry point, as after ``pip install airflow-batchml-emulator``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).resolve().parent / "plugin_project"


def _user_env() -> dict[str, str]:
    """This machine's environment without the suite's Airflow and connection settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST", "PYTHONPATH"))}
    return {**env, "AZURITE_BIN": str(ROOT / "node_modules" / ".bin" / "azurite-blob")}


def test_a_user_dag_test_runs_on_the_plugin_stack(tmp_path):
    project = shutil.copytree(PROJECT, tmp_path / "project")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"],
        cwd=project,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "1 passed" in output, output[-3000:]


def test_without_the_fixture_nothing_starts_and_the_dag_fails_to_connect(tmp_path):
    """The plugin starts nothing unasked: the same test without the fixture has no ``azure_ml_default``."""
    project = shutil.copytree(PROJECT, tmp_path / "project")
    test = project / "tests" / "test_word_counts.py"
    test.write_text(test.read_text().replace("batchml_connections, ", ""))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"],
        cwd=project,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-6000:]
    assert "azure_ml_default" in output and "isn't defined" in output, output[-6000:]
    assert not (project / "node_modules").exists()
