"""Unit-test helpers: Airflow connections set through ``AIRFLOW_CONN_*`` variables, as users set them."""

from __future__ import annotations

import json

import pytest

BASE_EXTRA = {"subscription_id": "sub-1", "resource_group": "rg-1", "workspace_name": "ws-1"}


@pytest.fixture
def azure_ml_conn(monkeypatch):
    """Return a function that registers an ``azure_ml`` connection from login/password/extra."""

    def register(conn_id: str = "azure_ml_default", *, login=None, password=None, **extra) -> str:
        body = {"conn_type": "azure_ml", "extra": {**BASE_EXTRA, **extra}}
        if login is not None:
            body["login"] = login
        if password is not None:
            body["password"] = password
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(body))
        return conn_id

    return register
