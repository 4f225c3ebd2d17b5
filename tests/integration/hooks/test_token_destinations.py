"""The connection's token goes only to its own cloud and workspace hosts, through the real hook and SDK."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.azure_ml import AzureMLHook


def test_the_foreign_host_would_be_trusted(foreign_host, emulator):
    """The control: a client holding the connection's CA bundle reaches the foreign host and is recorded."""
    requests.get(foreign_host.url + "/probe", verify=emulator.ca_bundle, timeout=10)
    assert [path for _, path, _ in foreign_host.received] == ["/probe"]


def test_published_pipeline_run_at_a_foreign_host_sends_nothing(hook, foreign_host, emulator):
    rest_endpoint = f"{foreign_host.url}/pipelines/v1.0/subscriptions/s/PipelineRuns/PipelineSubmit/p"
    with pytest.raises(AzureMLConfigurationError, match=r"rest_endpoint.*'localhost'") as raised:
        hook.run_published_pipeline(rest_endpoint, experiment_name="stolen")
    assert foreign_host.received == []
    assert emulator.url.removeprefix("https://") in str(raised.value)


def test_a_scoring_uri_on_another_host_is_not_invoked(airflow_connections, emulator, monkeypatch):
    """The emulator answers scoring URIs on 127.0.0.1; a connection whose resource manager is ``localhost``
    must then refuse to post the job (and its token) there."""
    connection = json.loads(emulator.connection_json.read_text())
    connection["extra"]["resource_manager_url"] = emulator.url.replace("127.0.0.1", "localhost") + "/"
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_ML_BY_NAME", json.dumps(connection))
    hook = AzureMLHook("azure_ml_by_name", polling_interval=0.5)
    hook.create_or_update_batch_endpoint("token-destination")
    jobs_before = emulator.request("GET", "/_emulator/jobs").json()["value"]
    with pytest.raises(AzureMLConfigurationError, match=r"scoring_uri of endpoint token-destination.*127\.0\.0\.1"):
        hook.invoke_batch_endpoint("token-destination", {"x": "azureml://datastores/workspaceblobstore/paths/x/"})
    assert emulator.request("GET", "/_emulator/jobs").json()["value"] == jobs_before
