"""Every example DAG file parses the way Airflow parses it: no import error, no deprecation warning, a DAG.

One subprocess loads each top-level file of ``dags/`` with Airflow's own ``BundleDagBag`` (what the DAG
processor and ``airflow dags test`` use) with Airflow's deprecation warnings turned into errors, and
reports per file the DAG ids and import errors, plus whether ``azure.ai.ml`` got imported: a fresh
process, so nothing the test session imported hides a heavy import.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS.glob("*.py"))

PARSE_ALL = """
import json, sys, warnings
from pathlib import Path

from airflow.dag_processing.dagbag import BundleDagBag
from airflow.exceptions import AirflowProviderDeprecationWarning, RemovedInAirflow4Warning
from airflow.sdk.exceptions import RemovedInAirflow4Warning as SdkRemovedInAirflow4Warning
from airflow.utils.deprecation_tools import DeprecatedImportWarning

# Airflow routes warnings to its logs, so they are turned into errors: DagBag then reports them as
# import errors of the file that triggered them.
for category in (
    DeprecatedImportWarning, RemovedInAirflow4Warning, SdkRemovedInAirflow4Warning, AirflowProviderDeprecationWarning
):
    warnings.simplefilter("error", category)
dags, report = Path(sys.argv[1]), {}
for path in sorted(dags.glob("*.py")):
    bag = BundleDagBag(dag_folder=str(path), bundle_path=dags, safe_mode=False)
    errors = {Path(k).name: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}
    report[path.name] = {"dag_ids": sorted(bag.dag_ids), "import_errors": errors}
heavy = sorted(m for m in sys.modules if m == "azure.ai.ml" or m.startswith("azure.ai.ml."))
print(json.dumps({"files": report, "azure_ai_ml_modules": len(heavy)}))
"""


@pytest.fixture(scope="module")
def parsed() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PARSE_ALL, str(DAGS)], capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_readme_table_lists_exactly_the_example_dags(parsed):
    """The README's table of example DAGs is what users read first: no DAG missing, no row left over."""
    readme = (DAGS.parent / "README.md").read_text()
    section = readme.split("## Example DAGs", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    dag_ids = {dag_id for report in parsed["files"].values() for dag_id in report["dag_ids"]}
    assert rows == dag_ids


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_parses_without_errors_or_deprecations(parsed, path):
    report = parsed["files"][path.name]
    assert report["import_errors"] == {}
    assert report["dag_ids"], f"{path.name} defines no DAG"


def test_parsing_does_not_import_azure_ai_ml(parsed):
    assert parsed["azure_ai_ml_modules"] == 0


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_uses_task_sdk_imports_only(path):
    """Airflow names come from ``airflow.sdk``; provider code (ours) is imported from its own package."""
    tree = ast.parse(path.read_text())
    modules = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    airflow = [name for name in modules if name == "airflow" or name.startswith("airflow.")]
    assert all(name == "airflow.sdk" for name in airflow), airflow


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_says_what_it_shows(path):
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and len(docstring) > 200, f"{path.name} needs a docstring saying what it shows"
