"""SDK v1 published pipelines, pipeline endpoints and schedules, for teams still on v1.

Runs go to a REST endpoint the way the Logic App recipe did: a POST of ``{"ExperimentName",
"ParameterAssignments", "DataPathAssignments": {name: {"DataStoreName", "RelativePath"}}}`` with a
resource-manager token; the run is then an ordinary Azure ML job, waited on like any other (``get_job``).
The endpoint is a URL, or found from a published pipeline's id or a pipeline endpoint's name (and
version). Housekeeping lists and disables published pipelines and v1 schedules by id, so that schedules
which still fire can be turned off once their v2 replacement runs. ``pipelines_rest.py`` sends the calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLNotFoundError
from airflow_batchml.hooks import pipelines_rest
from airflow_batchml.hooks.pipeline_entities import (
    DISABLED,
    endpoint_summary,
    pipeline_run_body,
    pipeline_summary,
    schedule_summary,
)

GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
VERSION = re.compile(r"[0-9]{1,9}")


class PublishedPipelineOperations:
    """v1 calls; expects ``self.settings``, ``self._workspace`` and ``self.check_token_destination`` (the hook's)."""

    settings: Any
    _workspace: Any
    check_token_destination: Callable[[str, str], None]

    def run_published_pipeline(
        self,
        rest_endpoint: str,
        *,
        experiment_name: str,
        parameter_assignments: Mapping[str, Any] | None = None,
        data_path_assignments: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Submit a run and return ``{"run_id", "status"}``."""
        body = pipeline_run_body(rest_endpoint, experiment_name, parameter_assignments, data_path_assignments)
        run = self._v1_call("POST", rest_endpoint, f"Running published pipeline {rest_endpoint}", body, "rest_endpoint")
        status = run.get("Status")
        return {"run_id": run.get("Id") or run.get("RunId"), "status": (status or {}).get("StatusCode", status)}

    def list_published_pipelines(self, *, include_disabled: bool = False) -> list[dict[str, Any]]:
        """Published pipelines of the workspace (active ones unless ``include_disabled``)."""
        query = "false" if include_disabled else "true"
        items = self._v1_call("GET", f"{self._v1_base}/Pipelines?activeOnly={query}", "Listing published pipelines")
        return [pipeline_summary(item) for item in items or []]

    def get_published_pipeline(self, pipeline_id: str) -> dict[str, Any]:
        check_guid(pipeline_id, "published_pipeline_id")
        url = f"{self._v1_base}/Pipelines/{pipeline_id}"
        return pipeline_summary(self._v1_call("GET", url, f"Reading published pipeline {pipeline_id}"))

    def disable_published_pipeline(self, pipeline_id: str) -> bool:
        """Disable a published pipeline (it then refuses runs); False when it already was disabled."""
        if self.get_published_pipeline(pipeline_id)["status"] == DISABLED:
            return False
        url = f"{self._v1_base}/Pipelines/{pipeline_id}/status"
        self._v1_call("PUT", url, f"Disabling published pipeline {pipeline_id}", DISABLED)
        return True

    def list_v1_schedules(self, *, include_disabled: bool = False, pipeline_id: str | None = None) -> list[dict]:
        """v1 schedules of the workspace, or of one published pipeline (then whatever their status)."""
        if pipeline_id is not None:
            check_guid(pipeline_id, "published_pipeline_id")
            url = f"{self._v1_base}/Schedules/Pipeline/{pipeline_id}"
        else:
            url = f"{self._v1_base}/Schedules?activeOnly={'false' if include_disabled else 'true'}"
        schedules = [schedule_summary(item) for item in self._v1_call("GET", url, "Listing v1 schedules") or []]
        return [item for item in schedules if include_disabled or item["status"] != DISABLED]

    def disable_v1_schedule(self, schedule_id: str) -> bool:
        """Disable a v1 schedule as ``Schedule.disable()`` does (GET, change ``EntityStatus``, PUT back)."""
        check_guid(schedule_id, "schedule_id")
        url = f"{self._v1_base}/Schedules/{schedule_id}"
        entity = self._v1_call("GET", url, f"Reading v1 schedule {schedule_id}")
        if schedule_summary(entity)["status"] == DISABLED:
            return False
        self._v1_call("PUT", url, f"Disabling v1 schedule {schedule_id}", {**entity, "EntityStatus": DISABLED})
        return True

    def get_pipeline_endpoint(self, name: str) -> dict[str, Any]:
        if not isinstance(name, str) or not name.strip():
            raise AzureMLConfigurationError("pipeline_endpoint_name", f"{name!r} is not a pipeline endpoint name")
        url = f"{self._v1_base}/PipelineEndpoints/Name?Name={quote(name, safe='')}"
        return endpoint_summary(self._v1_call("GET", url, f"Reading pipeline endpoint {name}"))

    def resolve_pipeline_rest_endpoint(
        self,
        *,
        published_pipeline_id: str | None = None,
        pipeline_endpoint_name: str | None = None,
        pipeline_version: str | None = None,
    ) -> str:
        """The REST endpoint that runs a published pipeline, or a pipeline endpoint's (given) version."""
        check_pipeline_target(None, published_pipeline_id, pipeline_endpoint_name, pipeline_version)
        if published_pipeline_id:
            return self._active_pipeline_url(published_pipeline_id)
        try:
            endpoint = self.get_pipeline_endpoint(str(pipeline_endpoint_name))
        except AzureMLNotFoundError as err:
            raise AzureMLConfigurationError(
                "pipeline_endpoint_name", f"no pipeline endpoint {pipeline_endpoint_name!r}"
            ) from err
        if endpoint["status"] == DISABLED:
            raise AzureMLConfigurationError(
                "pipeline_endpoint_name", f"pipeline endpoint {pipeline_endpoint_name} is Disabled"
            )
        if not pipeline_version:
            return endpoint["rest_endpoint"]
        if pipeline_version not in endpoint["versions"]:
            known = ", ".join(endpoint["versions"])
            raise AzureMLConfigurationError(
                "pipeline_version", f"{pipeline_endpoint_name} has no version {pipeline_version} (it has {known})"
            )
        # As azureml-pipeline-core sends a versioned run: the version in the path and in pipelineVersion.
        return f"{endpoint['rest_endpoint']}/{pipeline_version}?pipelineVersion={pipeline_version}"

    def _active_pipeline_url(self, pipeline_id: str) -> str:
        try:
            pipeline = self.get_published_pipeline(pipeline_id)
        except AzureMLNotFoundError as err:
            raise AzureMLConfigurationError("published_pipeline_id", f"no published pipeline {pipeline_id}") from err
        if pipeline["status"] != "Active":
            raise AzureMLConfigurationError(
                "published_pipeline_id", f"published pipeline {pipeline_id} is {pipeline['status']}"
            )
        return pipeline["rest_endpoint"]

    @property
    def _v1_base(self) -> str:
        """``<pipelines service>/pipelines/v1.0<workspace id>``, found once per hook."""
        if not hasattr(self, "_v1_base_url"):
            service = pipelines_rest.discover_pipelines_service(self._workspace.discovery_url, self.settings)
            self.check_token_destination(service, "the workspace's pipelines service")
            self._v1_base_url = f"{service}/pipelines/v1.0{pipelines_rest.workspace_id(self.settings)}"
        return self._v1_base_url

    def _v1_call(self, method: str, url: str, what: str, body: Any = None, field: str = "pipelines service") -> Any:
        check = lambda target: self.check_token_destination(target, field)  # noqa: E731
        return pipelines_rest.call(self.settings, method, url, what, body=body, check=check)


def check_pipeline_target(
    rest_endpoint: str | None,
    published_pipeline_id: str | None,
    pipeline_endpoint_name: str | None,
    pipeline_version: str | None,
) -> None:
    """Exactly one of the three ways to name a pipeline; a version only with an endpoint name."""
    given = [
        field
        for field, value in (
            ("rest_endpoint", rest_endpoint),
            ("published_pipeline_id", published_pipeline_id),
            ("pipeline_endpoint_name", pipeline_endpoint_name),
        )
        if value not in (None, "")
    ]
    if len(given) != 1:
        names = " and ".join(given) if given else "none of them"
        raise AzureMLConfigurationError(
            "/".join(given) or "rest_endpoint",
            f"give exactly one of rest_endpoint, published_pipeline_id, pipeline_endpoint_name; got {names}",
        )
    if published_pipeline_id:
        check_guid(published_pipeline_id, "published_pipeline_id")
    if pipeline_version not in (None, ""):
        if not pipeline_endpoint_name:
            raise AzureMLConfigurationError("pipeline_version", "a version needs pipeline_endpoint_name")
        if not VERSION.fullmatch(str(pipeline_version)):
            raise AzureMLConfigurationError("pipeline_version", f"{pipeline_version!r} is not a version number")


def check_guid(value: Any, field: str) -> None:
    if not isinstance(value, str) or not GUID.fullmatch(value):
        raise AzureMLConfigurationError(field, f"{value!r} is not an id (a GUID such as 1b2c...-...)")
