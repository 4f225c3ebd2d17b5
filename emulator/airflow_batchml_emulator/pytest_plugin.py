"""pytest fixtures that run a DAG author's tests on Azurite and the emulator, with no Azure account.

Registered through the ``pytest11`` entry point, so installing the distribution is enough. Nothing starts
until a test asks for a fixture: ``batchml_connections`` starts Azurite and the emulator once per session
and points Airflow's ``azure_ml_default`` and ``wasb_default`` connections at them, so ``dag.test()`` or
``airflow dags test`` in that session runs against the local stack.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_batchml_emulator.stack import LocalStack


@pytest.fixture(scope="session")
def batchml_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Azurite and the emulator on free loopback ports for the session; both stopped by pid at its end.

    Azurite is found as ``AZURITE_BIN``, ``./node_modules/.bin/azurite-blob`` or on ``PATH``.
    """
    with LocalStack(tmp_path_factory.mktemp("batchml-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def batchml_connections(batchml_stack: LocalStack) -> Iterator[dict[str, str]]:
    """``AIRFLOW_CONN_AZURE_ML_DEFAULT`` and ``AIRFLOW_CONN_WASB_DEFAULT`` set for the session; yields them."""
    variables = batchml_stack.emulator.airflow_env()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        yield variables
