"""Run a published (SDK v1) pipeline through its REST endpoint, the way the Logic App recipe did.

azure-ai-ml (v2) has no call for this, so the hook POSTs the documented body itself:
``{"ExperimentName", "ParameterAssignments", "DataPathAssignments": {name: {"DataStoreName",
"RelativePath"}}}`` with a resource-manager token. The run is then an ordinary Azure ML job, so it is
waited on like any other (``get_job``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlparse

from airflow_batchml.batch_job import DATASTORE_URI
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLRemoteError
from airflow_batchml.hooks.credentials import get_credential
from airflow_batchml.names import check_name
from airflow_batchml.redaction import redact


class PublishedPipelineOperations:
    """Published-pipeline runs; expects ``self.settings`` and ``self.check_token_destination`` (the hook's)."""

    settings: Any
    check_token_destination: Callable[[str, str], None]

    def run_published_pipeline(
        self,
        rest_endpoint: str,
        *,
        experiment_name: str,
        parameter_assignments: Mapping[str, Any] | None = None,
        data_path_assignments: Mapping[str, Any] | None = None,
        request_timeout: float = 60,
    ) -> dict[str, Any]:
        """Submit a run and return ``{"run_id", "status"}``."""
        import requests

        body = pipeline_run_body(rest_endpoint, experiment_name, parameter_assignments, data_path_assignments)
        self.check_token_destination(rest_endpoint, "rest_endpoint")
        token = get_credential(self.settings).get_token(self.settings.resource_manager + "/.default").token
        try:
            response = requests.post(
                rest_endpoint,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                verify=self.settings.ca_bundle or True,
                timeout=request_timeout,
                allow_redirects=False,  # a redirect must not carry the token elsewhere
            )
        except requests.RequestException as err:
            raise AzureMLRemoteError(f"Running published pipeline {rest_endpoint} failed: {err}") from err
        if response.status_code >= 400:
            detail = redact(response.text[:500])
            raise AzureMLRemoteError(
                f"Running published pipeline {rest_endpoint} failed: HTTP {response.status_code} {detail}"
            )
        run = response.json()
        return {"run_id": run.get("Id") or run.get("RunId"), "status": run.get("Status")}


def pipeline_run_body(
    rest_endpoint: str,
    experiment_name: str,
    parameter_assignments: Mapping[str, Any] | None,
    data_path_assignments: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Validate the arguments and build the REST body; every error names the argument."""
    try:
        scheme = urlparse(str(rest_endpoint)).scheme
    except ValueError:  # e.g. an unclosed "[" (IPv6 host)
        scheme = None
    if scheme != "https":
        raise AzureMLConfigurationError("rest_endpoint", f"{rest_endpoint!r} is not an https URL")
    check_name("experiment", experiment_name, "experiment_name")
    parameters = dict(parameter_assignments or {})
    for key, value in parameters.items():
        if not isinstance(value, (str, int, float, bool)):
            raise AzureMLConfigurationError(f"parameter_assignments.{key}", f"{value!r} is not a string or number")
    data_paths = {key: _data_path(key, value) for key, value in (data_path_assignments or {}).items()}
    return {
        "ExperimentName": experiment_name,
        "ParameterAssignments": parameters,
        "DataPathAssignments": data_paths,
    }


def _data_path(key: str, value: Any) -> dict[str, str]:
    """Accept ``{"datastore", "path"}``, ``{"DataStoreName", "RelativePath"}`` or an azureml:// datastore URI."""
    if isinstance(value, str) and (match := DATASTORE_URI.fullmatch(value)) and match["path"]:
        # RelativePath is a plain blob path; the URI's path is percent-encoded.
        return {"DataStoreName": match["store"], "RelativePath": unquote(match["path"])}
    if isinstance(value, Mapping):
        store = value.get("datastore", value.get("DataStoreName"))
        path = value.get("path", value.get("RelativePath"))
        if isinstance(store, str) and store and isinstance(path, str) and path:
            return {"DataStoreName": store, "RelativePath": path}
    raise AzureMLConfigurationError(
        f"data_path_assignments.{key}",
        f"{value!r} is not azureml://datastores/<name>/paths/<path> or {{'datastore': ..., 'path': ...}}",
    )
