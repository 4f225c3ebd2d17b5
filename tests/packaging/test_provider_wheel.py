"""The provider's wheel, installed alone in a fresh virtual environment, pulls in none of the emulator.

A production Airflow installs ``airflow-batchml`` and nothing else of this repo. The emulator's web stack
(fastapi, starlette, uvicorn), its TLS tooling and pandas must not arrive because of the provider. Airflow
itself brings fastapi and uvicorn for its api-server, so the test asks, inside the fresh environment, which
installed distributions require each of them: the provider must not be among them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
EMULATOR_ONLY = ("fastapi", "starlette", "uvicorn", "pandas", "cryptography", "airflow-batchml-emulator")

# Run by the fresh environment's interpreter: for each name, the installed distributions requiring it.
_DEPENDENTS = """
import json, sys
from importlib.metadata import distributions
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
wanted = set(sys.argv[1:])
found = {name: [] for name in wanted}
installed = set()
for dist in distributions():
    installed.add(canonicalize_name(dist.metadata["Name"]))
    for line in dist.requires or []:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name in wanted and (req.marker is None or req.marker.evaluate({"extra": ""})):
            found[name].append(canonicalize_name(dist.metadata["Name"]))
print(json.dumps({"dependents": found, "installed": sorted(installed)}))
"""


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> tuple[Path, Path]:
    """The provider's wheel built from the checkout, and a fresh venv holding it and what it requires."""
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run([UV, "build", "--quiet", "--wheel", "--out-dir", where / "dist", ROOT], check=True, timeout=600)
    (wheel,) = (where / "dist").glob("airflow_batchml-*.whl")
    python = where / "venv" / "bin" / "python"
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, where / "venv"], check=True, timeout=120)
    subprocess.run([UV, "pip", "install", "--quiet", "--python", python, wheel, "packaging"], check=True, timeout=900)
    return wheel, python


def test_the_wheel_holds_the_provider_only_and_requires_none_of_the_emulator(wheel_env):
    wheel, _ = wheel_env
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
    assert names and all(n.startswith(("airflow_batchml/", "airflow_batchml-")) for n in names), names
    unconditional = {Requirement(line).name for line in requires if "extra ==" not in line}
    assert "apache-airflow" in unconditional
    assert unconditional.isdisjoint(EMULATOR_ONLY), unconditional


def test_installing_the_wheel_pulls_in_none_of_the_emulator_because_of_the_provider(wheel_env):
    _, python = wheel_env
    report = subprocess.run(
        [python, "-c", _DEPENDENTS, *EMULATOR_ONLY], check=True, capture_output=True, text=True, timeout=120
    )
    found = json.loads(report.stdout)
    assert "airflow-batchml" in found["installed"]
    assert {"pandas", "airflow-batchml-emulator"}.isdisjoint(found["installed"])
    assert {name for name, by in found["dependents"].items() if "airflow-batchml" in by} == set()
    # Airflow's api-server is why fastapi is here at all: the check above looked at a real dependency graph.
    assert "apache-airflow-core" in found["dependents"]["fastapi"]


def test_the_provider_imports_in_the_fresh_environment_without_the_emulator(wheel_env, tmp_path):
    _, python = wheel_env
    code = (
        "import importlib.util, airflow_batchml.provider, airflow_batchml.hooks.azure_ml;"
        "assert importlib.util.find_spec('airflow_batchml_emulator') is None;"
        "from airflow_batchml.hooks.azure_ml import AzureMLHook;"
        "import airflow_batchml.local_scoring"
    )
    env = {"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    # Everything imports; local scoring alone says which extra it needs.
    assert run.returncode == 1
    assert "install airflow-batchml[local-scoring]" in run.stderr, run.stderr[-2000:]
