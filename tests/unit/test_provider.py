"""The provider is discoverable the way Airflow discovers providers: entry point, schema, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

from airflow_batchml.provider import get_provider_info


def test_entry_point_returns_provider_info():
    (entry,) = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_batchml")]
    info = entry.load()()
    assert info["package-name"] == "airflow-batchml"
    assert info == get_provider_info()


def test_provider_info_passes_airflows_schema():
    import jsonschema
    from airflow.providers_manager import _create_provider_info_schema_validator

    _create_provider_info_schema_validator().validate(get_provider_info())
    assert jsonschema  # the validator above is jsonschema's


def test_connection_type_declares_secret_fields_as_passwords():
    (conn_type,) = get_provider_info()["connection-types"]
    fields = conn_type["conn-fields"]
    assert conn_type["connection-type"] == "azure_ml"
    secret = {name for name, spec in fields.items() if spec["schema"].get("format") == "password"}
    assert secret == {"token", "client_certificate_password"}
    for required in ("tenant_id", "subscription_id", "resource_group", "workspace_name", "cloud", "ca_bundle"):
        assert required in fields


def _airflow(*args: str) -> str:
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=env, timeout=240, check=True
    )
    return result.stdout


def test_airflow_cli_lists_provider_hook_and_connection_fields():
    providers = json.loads(_airflow("providers", "list", "--output", "json"))
    assert "airflow-batchml" in {p["package_name"] for p in providers}
    hooks = json.loads(_airflow("providers", "hooks", "--output", "json"))
    ours = [h for h in hooks if h.get("connection_type") == "azure_ml"]
    assert ours and ours[0]["class"] == "airflow_batchml.hooks.azure_ml.AzureMLHook"
    widgets = json.loads(_airflow("providers", "widgets", "--output", "json"))
    names = {w["connection_parameter_name"] for w in widgets if w["package_name"] == "airflow-batchml"}
    assert {"extra__azure_ml__workspace_name", "extra__azure_ml__token"} <= names
