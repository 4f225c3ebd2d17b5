"""Settings every test shares: an isolated AIRFLOW_HOME, no example DAGs, no unit-test mode surprises.

Property tests (hypothesis) run under a profile chosen by ``HYPOTHESIS_PROFILE``: ``ci`` (the default,
``make test``) draws the same examples on every run and keeps no example database, so a run is
reproducible; ``fuzz`` (``make fuzz``) draws many more, randomly, to look for new failures.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import settings

# Fixtures every suite may ask for; a directory's conftest still overrides one of the same name.
pytest_plugins = [
    "tests.support.stack",
    "tests.support.workspace",
    "tests.support.task_context",
    "tests.support.foreign_host",
    "tests.support.browser",
]

_HOME = tempfile.mkdtemp(prefix="airflow-batchml-tests-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

settings.register_profile("ci", derandomize=True, max_examples=60, database=None, deadline=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, max_examples=2000, database=None, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
