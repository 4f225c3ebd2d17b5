"""Every third-party module a distribution of this repo imports comes from a distribution it declares.

An import that works only because another dependency happens to pull its distribution in breaks the day
that dependency drops it. Imports are read from the source (module level or inside functions); each
module is imported and attributed to the installed distribution that owns its file. ``apache-airflow`` is
a meta-distribution: declaring it declares the ``apache-airflow-core`` and task SDK it is made of. An
optional feature's import (OpenLineage, local scoring) counts as declared by its extra. The provider and
the emulator (``emulator/``) are checked apart: neither may lean on what the other declares.
"""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib
from functools import cache
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# (package folder, its pyproject.toml)
DISTRIBUTIONS = {
    "airflow-batchml": (ROOT / "airflow_batchml", ROOT / "pyproject.toml"),
    "airflow-batchml-emulator": (ROOT / "emulator" / "airflow_batchml_emulator", ROOT / "emulator" / "pyproject.toml"),
}


def _imported_modules(package: Path) -> set[str]:
    modules = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module)
    return {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names | {package.name, "__future__"}}


@cache
def _files_of(name: str) -> tuple[Path, frozenset[str]]:
    found = distribution(name)
    return Path(found.locate_file("")).resolve(), frozenset(str(f) for f in found.files or [])


@cache
def _index() -> dict[str, list[str]]:
    return packages_distributions()


def _owner(module: str) -> str | None:
    """The distribution owning the module's file; None for a namespace package, which no one owns."""
    for name, (package, _) in DISTRIBUTIONS.items():
        if module.split(".")[0] == package.name:  # this repo's, installed editable: no file list to search
            return name
    if (path := getattr(importlib.import_module(module), "__file__", None)) is None:
        return None
    file = Path(path).resolve()
    owners = set()
    for name in _index()[module.split(".")[0]]:
        root, files = _files_of(name)
        if file.is_relative_to(root) and file.relative_to(root).as_posix() in files:
            owners.add(canonicalize_name(name))
    assert len(owners) == 1, f"{module} ({file}): owned by {owners}"
    return owners.pop()


def _declared(pyproject: Path) -> set[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = [
        line for name, lines in project.get("optional-dependencies", {}).items() if name != "test" for line in lines
    ]
    names = {canonicalize_name(Requirement(line).name) for line in [*project["dependencies"], *extras]}
    meta = distribution("apache-airflow").requires or []
    parts = {canonicalize_name(Requirement(r).name) for r in meta if "extra ==" not in r}
    return names | (parts if "apache-airflow" in names else set())


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_each_imported_distribution_is_declared(name):
    package, pyproject = DISTRIBUTIONS[name]
    declared = _declared(pyproject)
    owners = {module: _owner(module) for module in sorted(_imported_modules(package))}
    undeclared = {module: owner for module, owner in owners.items() if owner and owner not in declared}
    assert undeclared == {}
