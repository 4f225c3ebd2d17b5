"""DAG parsing must stay cheap: nothing a DAG file imports may pull in azure.ai.ml (~1.4 s, ~110 MB)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import airflow_batchml

# Everything on the DAG-parsing path: the provider info and every operator, sensor, trigger and hook
# module (operators import hooks at module level).
PARSING_PACKAGES = ("operators", "sensors", "triggers", "hooks")


def parsing_path_modules() -> list[str]:
    modules = ["airflow_batchml", "airflow_batchml.provider", "airflow_batchml.batch_job", "airflow_batchml.names"]
    for package in PARSING_PACKAGES:
        path = [f"{airflow_batchml.__path__[0]}/{package}"]
        modules.append(f"airflow_batchml.{package}")
        modules += [f"airflow_batchml.{package}.{m.name}" for m in pkgutil.iter_modules(path)]
    return modules


def test_parsing_path_does_not_import_azure_ai_ml():
    modules = parsing_path_modules()
    assert "airflow_batchml.hooks.azure_ml" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = sorted(m for m in sys.modules if m == 'azure.ai.ml' or m.startswith('azure.ai.ml.'))\n"
        "print(len(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "0", result.stderr
