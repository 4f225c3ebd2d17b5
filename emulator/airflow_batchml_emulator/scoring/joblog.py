"""The job log a user reads through the API: engine messages filtered by ``logging_level``, script output.

The log is bounded, as Azure's are: no line keeps more than ``MAX_LINE_CHARS`` characters, and once the
scoring scripts of a job have printed ``SCRIPT_OUTPUT_LIMIT`` characters their further lines are dropped
behind one marker, while the engine's own lines (few, and the ones that say how the job ended) are kept.

Also checks the deployment's environment against this interpreter: the emulator records the environment
but does not build it, so the log is where a user learns that a declared pip package is missing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from importlib import metadata
from typing import Any, NamedTuple, Protocol

import yaml

from airflow_batchml_emulator.scoring.spec import LOGGING_LEVELS

log = logging.getLogger(__name__)

# The interpreter itself and the installer: conda dependencies that are no distribution to look for.
_NOT_DISTRIBUTIONS = frozenset({"python", "pip"})
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
MAX_LINE_CHARS = 16 * 1024
SCRIPT_OUTPUT_LIMIT = 4 * 1024 * 1024
TRUNCATED_NOTE = (
    f"WARNING Log truncated: the scoring script's output passed {SCRIPT_OUTPUT_LIMIT:,} characters; "
    "its further lines are dropped"
)


class Reporter(Protocol):
    """What the server's store offers the engine (its internal interface, not Azure's)."""

    def set_status(self, job_name: str, status: str, error: dict | None = None) -> None: ...

    def set_progress(self, job_name: str, done: int, total: int, failed_files: int) -> None: ...

    def append_log(self, job_name: str, text: str) -> None: ...


class JobLog:
    """Appends timestamped lines to one job's log, dropping those below the job's ``logging_level``.

    A failing reporter must not fail the job, so its errors are logged here and swallowed.
    """

    def __init__(self, reporter: Reporter, job_name: str, logging_level: str) -> None:
        self._reporter = reporter
        self._job_name = job_name
        self._threshold = LOGGING_LEVELS.get(logging_level.lower(), logging.INFO)
        self._lock = threading.Lock()  # each worker's output arrives on its own thread
        self._output_kept = 0
        self._truncated = False

    def debug(self, message: str, *args: Any) -> None:
        self._write(logging.DEBUG, message, args)

    def info(self, message: str, *args: Any) -> None:
        self._write(logging.INFO, message, args)

    def warning(self, message: str, *args: Any) -> None:
        self._write(logging.WARNING, message, args)

    def error(self, message: str, *args: Any) -> None:
        self._write(logging.ERROR, message, args)

    def script_output(self, source: int | str, line: str) -> None:
        """A line a scoring script (worker ``source``) or a pipeline step's command (``source`` its stream)
        printed; a worker already applied the logging level.

        The line that would take the script output kept past ``SCRIPT_OUTPUT_LIMIT`` is replaced by the
        truncation marker, and every later one is dropped.
        """
        entry = _entry(f"[worker {source}] {line}" if isinstance(source, int) else f"[{source}] {line}")
        with self._lock:
            truncating = not self._truncated and self._output_kept + len(entry) > SCRIPT_OUTPUT_LIMIT
            self._truncated = self._truncated or truncating
            if not self._truncated:
                self._output_kept += len(entry)
            keep = not self._truncated
        if keep or truncating:
            self._send(entry if keep else _entry(TRUNCATED_NOTE))

    def _write(self, level: int, message: str, args: tuple[Any, ...]) -> None:
        if level < self._threshold:
            return
        text = message % args if args else message
        line = clipped(text[:MAX_LINE_CHARS], max(0, len(text) - MAX_LINE_CHARS))
        self._send(_entry(f"{logging.getLevelName(level)} {line}"))

    def _send(self, entry: str) -> None:
        try:
            self._reporter.append_log(self._job_name, entry)
        except Exception:
            log.exception("Could not append to the log of job %s", self._job_name)


def _entry(line: str) -> str:
    """One timestamped log line, as stored."""
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())} {line}\n"


def clipped(line: str, dropped: int) -> str:
    """``line`` with a note of how many characters of it were dropped, if any were."""
    return f"{line} [... {dropped:,} more characters of this line dropped]" if dropped else line


class DeclaredPackages(NamedTuple):
    """A conda file's ``dependencies``: the conda specs, and the requirements of its ``pip:`` section."""

    conda: list[str]
    pip: list[str]


def declared_packages(conda_file: str | dict[str, Any]) -> DeclaredPackages:
    """The package specs a conda file (its YAML text, or the mapping azure-ai-ml loads it into) declares."""
    document = yaml.safe_load(conda_file) if isinstance(conda_file, str) else conda_file
    dependencies = (document.get("dependencies") or []) if isinstance(document, dict) else []
    conda = [dep for dep in dependencies if isinstance(dep, str)]
    pip = [req for dep in dependencies if isinstance(dep, dict) for req in dep.get("pip") or [] if isinstance(req, str)]
    return DeclaredPackages(conda, pip)


def missing_pip_packages(conda_file: str | dict[str, Any]) -> list[str]:
    """Pip requirements of a conda file that are not installed in this interpreter.

    Only the ``pip:`` section is checked: conda package names do not map reliably to installed
    distributions. Options (``--index-url ...``) and URLs are skipped.
    """
    return missing_distributions(declared_packages(conda_file).pip)


def missing_conda_packages(conda_file: str | dict[str, Any]) -> list[str]:
    """Conda dependencies with no installed distribution of that name, ``python`` and ``pip`` aside.

    A best effort for running a deployment locally: most Python packages keep their name on conda-forge,
    but some do not, so a name reported here may be installed under another one. ``channel::name`` and
    version pins (``numpy=1.26``, ``numpy 1.26.*``) are read as ``name``.
    """
    names = [spec.rpartition("::")[2] for spec in declared_packages(conda_file).conda]
    return [name for name in missing_distributions(names) if name.lower() not in _NOT_DISTRIBUTIONS]


def missing_distributions(requirements: list[str]) -> list[str]:
    """The names of ``requirements`` (pip-style lines) with no installed distribution; options and URLs skipped."""
    missing = []
    for requirement in requirements:
        match = REQUIREMENT_NAME.match(requirement)
        if requirement.lstrip().startswith("-") or "://" in requirement or not match:
            continue
        try:
            metadata.distribution(match.group(1))
        except metadata.PackageNotFoundError:
            missing.append(match.group(1))
    return missing
