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


def _run_user_tests(project: Path) -> tuple[int, str]:
    """``pytest tests`` in the user's project, its temporary files under ``project/tmp``; exit code and output."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--basetemp", str(project / "tmp"), "tests"],
        cwd=project,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=280,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_user_dag_test_runs_on_the_plugin_stack(tmp_path):
    project = shutil.copytree(PROJECT, tmp_path / "project")
    code, output = _run_user_tests(project)
    assert code == 0, output[-6000:]
    assert "1 passed" in output, output[-3000:]
    assert list((project / "tmp").glob("batchml-stack*")), "the stack's state dir, made by the fixture"


def test_without_the_fixture_nothing_starts_and_the_dag_fails_to_connect(tmp_path):
    """The plugin starts nothing unasked: the same test without the fixture has no ``azure_ml_default``."""
    project = shutil.copytree(PROJECT, tmp_path / "project")
    test = project / "tests" / "test_word_counts.py"
    test.write_text(test.read_text().replace("batchml_connections, ", ""))
    code, output = _run_user_tests(project)
    assert code == 1, output[-6000:]
    assert "azure_ml_default" in output and "isn't defined" in output, output[-6000:]
    assert not list((project / "tmp").glob("batchml-stack*")), "no stack was started"
