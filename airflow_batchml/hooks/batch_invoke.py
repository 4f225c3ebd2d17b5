"""Submitting a batch scoring job once, although Azure ML names batch jobs itself.

Azure ML ignores a requested batch job name (it answers ``batchjob-<guid>``; azure-sdk-for-python#32763),
so a job cannot be found by the name asked for. What the service does keep and return is the job's output
location. A keyed submission (a ``job_name`` and no ``output_path``) therefore writes to
``azureml://datastores/workspaceblobstore/paths/airflow/<job_name>/``, and before submitting, the
endpoint's newest jobs (at most ``MAX_LISTED_JOBS``) are searched for that output: a running or completed
job there is attached to, a failed or cancelled one moves the series on (``<job_name>-2``...). That also
finds a job whose submission reply was lost (azure-sdk-for-python#31166).

The scoring POST is sent once per attempt: azure-core would resend it on a 5xx and azure-ai-ml on a lost
reply, each resend a second job. The hook resends itself, after looking the output up again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_batchml.batch_job import BatchInput, BatchJobOverrides, check_output_path, output_type
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLRemoteError
from airflow_batchml.hooks.azure_ml_async import TRANSIENT_HTTP_STATUSES
from airflow_batchml.hooks.errors import remote_errors
from airflow_batchml.hooks.job_status import AzureMLJobStatus, normalise_status
from airflow_batchml.names import check_name

log = logging.getLogger(__name__)

DEFAULT_DATASTORE = "workspaceblobstore"
MAX_RESUBMISSIONS = 20
MAX_LISTED_JOBS = 500
SUBMIT_ATTEMPTS = 3
RESUBMIT_DELAY = 2.0
_LIST_API_VERSION = "2020-09-01-dataplanepreview"


def keyed_output_uri(job_name: str, attempt: int = 1) -> str:
    """The output folder that identifies attempt ``attempt`` of the logical submission ``job_name``."""
    return f"azureml://datastores/{DEFAULT_DATASTORE}/paths/airflow/{series_name(job_name, attempt)}/"


def series_name(job_name: str, attempt: int) -> str:
    return job_name if attempt == 1 else f"{job_name}-{attempt}"


@dataclass(frozen=True)
class ListedJob:
    """A job as the endpoint's job list shows it: its name, status, requested name and output."""

    name: str
    status: str
    display_name: str | None
    output_uri: str | None

    @classmethod
    def from_rest(cls, item: Mapping[str, Any]) -> ListedJob:
        properties = item.get("properties") or {}
        output = next(iter((properties.get("outputData") or {}).values()), None) or {}
        return cls(
            name=str(item.get("name")),
            status=normalise_status(properties.get("status") or "NotStarted", item.get("name")),
            display_name=properties.get("name") or properties.get("displayName"),
            output_uri=output.get("uri") if isinstance(output, dict) else None,
        )


def _same_uri(left: str | None, right: str | None) -> bool:
    return bool(left and right) and left.rstrip("/") == right.rstrip("/")  # type: ignore[union-attr]


class SinglePostPipeline:
    """azure-ai-ml's request pipeline with the scoring POST sent once (no azure-core or SDK resend)."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import ServiceResponseError

        try:
            return self._pipeline.post(*args, retry_total=0, **kwargs)
        except ServiceResponseError as err:  # sent, reply lost: the SDK would resend it five times
            raise AzureMLRemoteError(f"The scoring request was sent but its reply was lost: {err}") from err


def send_posts_once(client: Any) -> None:
    """Install :class:`SinglePostPipeline` on the client's batch endpoint operations (only they POST)."""
    operations = client.batch_endpoints
    if not isinstance(operations._requests_pipeline, SinglePostPipeline):
        operations._requests_pipeline = SinglePostPipeline(operations._requests_pipeline)


def is_transient(err: Exception) -> bool:
    """A failure the same request may succeed after: throttling, 5xx, a connection or a lost reply."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    cause = err.__cause__
    if isinstance(cause, (ServiceRequestError, ServiceResponseError)):
        return True
    return isinstance(cause, HttpResponseError) and getattr(cause, "status_code", None) in TRANSIENT_HTTP_STATUSES


class BatchInvokeOperations:
    """Invoke a batch endpoint once per logical submission; a mixin of AzureMLHook."""

    settings: Any

    def invoke_batch_endpoint(
        self,
        endpoint_name: str,
        inputs: Mapping[str, Any],
        *,
        deployment_name: str | None = None,
        output_path: str | None = None,
        overrides: Mapping[str, Any] | BatchJobOverrides | None = None,
        job_name: str | None = None,
        experiment_name: str | None = None,
    ) -> dict[str, Any]:
        """Start a batch scoring job, or attach to the one this logical submission already started.

        ``job_name`` is the submission's key (sent as the display name: Azure ML names the job itself); see
        ``batch_invoke`` for how the job is found again. Returns ``{"job_name", "deployment_name", "status",
        "attached", "output_uri"}`` with the service's job name and the output location actually used
        (None when neither a key nor an output path was given: Azure ML then chooses it).
        """
        check_name("endpoint", endpoint_name)
        parsed = {key: BatchInput.parse(value, f"inputs.{key}") for key, value in inputs.items()}
        if not parsed:
            raise AzureMLConfigurationError("inputs", "at least one input is required")
        settings = BatchJobOverrides.parse(overrides)
        if job_name is not None:
            check_name("job", job_name)
        output_path = output_path or None
        if output_path is not None:
            output_path = check_output_path(output_path)  # an ARM id is sent in its long azureml:// form
        if experiment_name is not None:
            check_name("experiment", experiment_name, "experiment_name")
        endpoint = self.get_batch_endpoint(endpoint_name)
        # azure-ai-ml posts the job, with a token, to the scoring URI the service returns.
        self.check_token_destination(endpoint["scoring_uri"], f"scoring_uri of endpoint {endpoint_name}")
        deployment_name = self._resolve_deployment(endpoint, deployment_name)
        if len(parsed) > 1:
            self._check_takes_several_inputs(endpoint_name, deployment_name, list(parsed))
        submit = {"inputs": parsed, "settings": settings, "experiment_name": experiment_name}
        retry = 0
        while True:
            retry += 1
            name, output, existing = job_name, output_path, None
            if job_name is not None:
                attempt, existing = self.next_submission(endpoint_name, job_name, output_path)
                name, output = series_name(job_name, attempt), output_path or keyed_output_uri(job_name, attempt)
            if existing is not None:
                log.info("Job %s of %s is %s; attaching to it", existing.name, name, existing.status)
                found = {"job_name": existing.name, "status": existing.status, "attached": True}
                return {**found, "deployment_name": deployment_name, "output_uri": output}
            try:
                job = self._submit(endpoint_name, deployment_name, name, output, **submit)
            except AzureMLRemoteError as err:
                if job_name is None or retry == SUBMIT_ATTEMPTS or not is_transient(err):
                    raise
                log.warning("Submitting %s failed (%s); looking for it before resending", name, err)
                pause_before_resubmit(retry)
                continue
            return {**job, "deployment_name": deployment_name, "attached": False, "output_uri": output}

    def _check_takes_several_inputs(self, endpoint_name: str, deployment_name: str, names: list[str]) -> None:
        """A model deployment scores exactly one input (Azure's batch input rules); only pipeline component
        deployments take several, so the deployment is read when more than one is given."""
        with remote_errors(f"Reading deployment {deployment_name} of {endpoint_name}"):
            deployment = self.get_client().batch_deployments.get(deployment_name, endpoint_name)
        configuration = str((deployment.properties or {}).get("deployment_configuration_type") or "")
        if configuration.lower() != "pipelinecomponent":
            raise AzureMLConfigurationError(
                "inputs",
                f"{deployment_name} is a model deployment, which takes exactly one input; got {', '.join(names)}",
            )

    def _submit(
        self,
        endpoint_name: str,
        deployment_name: str,
        name: str | None,
        output: str | None,
        *,
        inputs: dict[str, BatchInput],
        settings: BatchJobOverrides,
        experiment_name: str | None,
    ) -> dict[str, Any]:
        """One scoring POST (never resent by the client: see ``batch_invoke``)."""
        from azure.ai.ml import Input, Output

        sdk_inputs = {key: Input(type=item.type, path=self._remote_uri(item)) for key, item in inputs.items()}
        outputs = {"score": Output(type=output_type(output), path=output)} if output else None
        with remote_errors(f"Invoking batch endpoint {endpoint_name}"):
            job = self.get_client().batch_endpoints.invoke(
                endpoint_name,
                deployment_name=deployment_name,
                inputs=sdk_inputs,
                outputs=outputs,
                job_name=name,
                experiment_name=experiment_name,
                params_override=settings.to_params_override(),
            )
        log.info("Submitted job %s (%s) to %s/%s", job.name, name, endpoint_name, deployment_name)
        return {"job_name": job.name, "status": normalise_status(job.status or "NotStarted", job.name)}

    def get_client(self) -> Any:  # pragma: no cover - provided by the hook
        raise NotImplementedError

    def check_token_destination(self, url: str, field: str) -> None:  # pragma: no cover - provided by the hook
        raise NotImplementedError

    def get_batch_endpoint(self, name: str) -> dict[str, Any]:  # pragma: no cover - provided by the hook
        raise NotImplementedError

    def _resolve_deployment(self, endpoint: dict[str, Any], deployment_name: str | None) -> str:  # pragma: no cover
        raise NotImplementedError

    def _remote_uri(self, item: BatchInput) -> str:  # pragma: no cover - provided by the hook
        raise NotImplementedError

    def listed_jobs(self, endpoint_name: str, limit: int = MAX_LISTED_JOBS) -> Iterator[ListedJob]:
        """The endpoint's jobs, newest first as the service lists them, at most ``limit``.

        azure-ai-ml's ``batch_endpoints.list_jobs`` reads every page; this reads the same route page by page.
        """
        from azure.ai.ml._azure_environments import _get_aml_resource_id_from_metadata, _resource_to_scopes
        from azure.ai.ml._utils._endpoint_utils import validate_response
        from azure.ai.ml._utils.utils import _get_mfe_base_url_from_discovery_service
        from azure.ai.ml.constants._common import AzureMLResourceType

        operations = self.get_client().batch_endpoints
        s = self.settings
        with remote_errors(f"Listing jobs of batch endpoint {endpoint_name}"):
            workspaces = operations._all_operations.all_operations[AzureMLResourceType.WORKSPACE]
            base = _get_mfe_base_url_from_discovery_service(workspaces, s.workspace_name, operations._requests_pipeline)
            url: str | None = (
                f"{base.rstrip('/')}/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{s.workspace_name}"
                f"/batchEndpoints/{endpoint_name}/jobs?api-version={_LIST_API_VERSION}"
            )
            scopes = _resource_to_scopes(_get_aml_resource_id_from_metadata())
            seen = 0
            while url and seen < limit:
                self.check_token_destination(url, f"job list of endpoint {endpoint_name}")
                token = operations._credentials.get_token(*scopes).token
                headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
                response = operations._requests_pipeline.get(url, headers=headers)
                validate_response(response)
                body = json.loads(response.text())
                for item in (body.get("value") or [])[: limit - seen]:
                    seen += 1
                    yield ListedJob.from_rest(item)
                url = body.get("nextLink")

    def next_submission(
        self, endpoint_name: str, job_name: str, output_path: str | None
    ) -> tuple[int, ListedJob | None]:
        """The first attempt of the series without a failed job, and its live or completed job if any.

        A keyed output identifies the submission by itself; a user's output path may be shared by other
        runs, so there the requested (display) name must match too.
        """
        listed = list(self.listed_jobs(endpoint_name))
        for attempt in range(1, MAX_RESUBMISSIONS + 1):
            output = output_path or keyed_output_uri(job_name, attempt)
            name = series_name(job_name, attempt)
            job = next(
                (
                    item
                    for item in listed
                    if _same_uri(item.output_uri, output) and (not output_path or item.display_name == name)
                ),
                None,
            )
            if job is None or job.status not in AzureMLJobStatus.FAILURE_STATUSES:
                return attempt, job
            log.info("Job %s (%s) ended %s; submitting the next of the series", job.name, name, job.status)
        raise AzureMLConfigurationError("job_name", f"{job_name} failed {MAX_RESUBMISSIONS} times; give a new name")


def pause_before_resubmit(attempt: int) -> None:
    time.sleep(RESUBMIT_DELAY * attempt)
