"""Scenario d: the e2e suite's REST and browser flows, unchanged, on the Celery topology.

The test functions are those of ``tests/e2e/test_rest_api.py`` and ``tests/e2e/test_ui.py``; imported here,
they are collected again and get this directory's fixtures (``airflow``, ``api``, ``stack``): the same
demo DAG run through the REST API and the trigger form, with the tasks on Celery workers.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_rest_api import (
    test_the_demo_dag_ran_through_the_api,
    test_trigger_with_conf_scores_into_the_given_folder,
)
from tests.e2e.test_ui import test_trigger_form_run_reaches_success

pytestmark = [pytest.mark.celery, pytest.mark.timeout(600)]
__all__ = [
    "test_the_demo_dag_ran_through_the_api",
    "test_trigger_form_run_reaches_success",
    "test_trigger_with_conf_scores_into_the_given_folder",
]
