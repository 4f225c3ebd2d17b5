"""``[celery] celery_config_options`` for the Celery end-to-end cluster: Airflow's defaults, plus the Azure
ML SDK imported once by each worker before it forks its pool.

A task process is forked from its worker, so what the worker has imported costs the task nothing;
``azure.ai.ml`` takes some 4 s of CPU to import, which every task execution (the submission, then the
resume after the trigger) would pay again. A production worker image would preload it the same way.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG, "imports": ("azure.ai.ml", "airflow_batchml.hooks.azure_ml")}
