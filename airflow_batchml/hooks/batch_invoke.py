"""Submitting a batch scoring job once, although Azure ML names batch jobs itself.

Azure ML ignores a requested batch job name (it answers ``batchjob-<guid>``; azure-sdk-for-python#32763),
so a job cannot be found by the name asked for. What the service does keep and return is the job's output
locations. A keyed submission (a ``job_name`` and no ``output_path``) therefore writes to
``azureml://datastores/workspaceblobstore/paths/airflow/<job_name>/``; to a pipeline component deployment,
each ``uri_folder`` output the caller did not place goes to ``.../airflow/<job_name>/<output name>/``.
Before submitting, the endpoint's newest jobs (at most ``MAX_LISTED_JOBS``) are searched for a keyed
output: a running or completed job there is attached to, a failed or cancelled one moves the series on
(``<job_name>-2``...). That also finds a job whose submission reply was lost (azure-sdk-for-python#31166).
A submission whose outputs the caller placed all (``output_path``, or every pipeline output) is found by
those outputs together with its requested (display) name, since other runs may write there too.

The scoring POST is sent once per attempt: azure-core would resend it on a 5xx and azure-ai-ml on a lost
reply, each resend a second job. The hook resends itself, after looking the output up again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_batchml.batch_job import (
    BatchInput,
    BatchJobOverrides,
    ComponentPorts,
    JobLiteral,
    check_model_job,
    check_output_path,
    output_type,
    parse_job_input,
    parse_outputs,
)
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLRemoteError
from airflow_batchml.hooks.azure_ml_async import TRANSIENT_HTTP_STATUSES
from airflow_batchml.hooks.errors import remote_errors
from airflow_batchml.hooks.job_status import AzureMLJobStatus, normalise_status
from airflow_batchml.hooks.sdk_private import workspace_api_pages, wrap_endpoint_requests
from airflow_batchml.names import check_name

log = logging.getLogger(__name__)

DEFAULT_DATASTORE = "workspaceblobstore"
#: The name a model deployment's one output is sent under (Microsoft's samples call it ``score``).
MODEL_OUTPUT = "score"
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
    """A job as the endpoint's job list shows it: its name, status, requested name and output locations."""

    name: str
    status: str
    display_name: str | None
    outputs: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_rest(cls, item: Mapping[str, Any]) -> ListedJob:
        properties = item.get("properties") or {}
        data = properties.get("outputData")
        outputs = {
            str(key): value["uri"]
            for key, value in (data.items() if isinstance(data, dict) else [])
            if isinstance(value, dict) and isinstance(value.get("uri"), str)
        }
        return cls(
            name=str(item.get("name")),
            status=normalise_status(properties.get("status") or "NotStarted", item.get("name")),
            display_name=properties.get("name") or properties.get("displayName"),
            outputs=outputs,
        )

    def writes_to(self, uri: str) -> bool:
        return any(_same_uri(output, uri) for output in self.outputs.values())


def _same_uri(left: str | None, right: str | None) -> bool:
    return bool(left and right) and left.rstrip("/") == right.rstrip("/")  # type: ignore[union-attr]


@dataclass(frozen=True)
class OutputPlan:
    """Where a submission's outputs go: those the caller placed, and those the submission's key places.

    A model deployment's one output (``score``, the name Microsoft's samples give it) is the keyed folder
    itself; a pipeline deployment's keyed outputs are sub-folders of it named after the outputs.
    """

    placed: Mapping[str, str]
    keyed: tuple[str, ...] = ()
    per_output_folder: bool = False
    types: Mapping[str, str] = field(default_factory=dict)

    def uris(self, job_name: str | None, attempt: int = 1) -> dict[str, str]:
        if job_name is None:
            return dict(self.placed)
        root = keyed_output_uri(job_name, attempt)
        keyed = {name: f"{root}{name}/" if self.per_output_folder else root for name in self.keyed}
        return {**self.placed, **keyed}

    def identifies(self, job: ListedJob, job_name: str, attempt: int) -> bool:
        """Whether ``job`` is attempt ``attempt`` of the submission ``job_name``."""
        uris = self.uris(job_name, attempt)
        if self.keyed:
            return any(job.writes_to(uris[name]) for name in self.keyed)
        placed = all(job.writes_to(uri) for uri in uris.values())
        return placed and job.display_name == series_name(job_name, attempt)

    def output_type(self, name: str, uri: str) -> str:
        return self.types.get(name) or output_type(uri)


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
    wrap_endpoint_requests(client, SinglePostPipeline)


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
        outputs: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | BatchJobOverrides | None = None,
        job_name: str | None = None,
        experiment_name: str | None = None,
    ) -> dict[str, Any]:
        """Start a batch job, or attach to the one this logical submission already started.

        ``inputs`` maps input names to data inputs or literals (``batch_job``); ``outputs`` names a pipeline
        deployment's outputs, ``output_path`` a model deployment's one. Both are checked against the
        deployment (and its component) before anything is submitted. ``job_name`` is the submission's key
        (sent as the display name: Azure ML names the job itself); see ``batch_invoke`` for how the job is
        found again. Returns ``{"job_name", "deployment_name", "status", "attached", "output_uri",
        "outputs"}``: the service's job name, the model output's location (None for a pipeline deployment,
        or when Azure ML chooses it) and every output location this submission chose, by name.
        """
        check_name("endpoint", endpoint_name)
        if deployment_name:
            check_name("deployment", deployment_name)
        parsed = {key: parse_job_input(value, f"inputs.{key}") for key, value in inputs.items()}
        if not parsed:
            raise AzureMLConfigurationError("inputs", "at least one input is required")
        named = parse_outputs(outputs)
        settings = BatchJobOverrides.parse(overrides)
        if job_name is not None:
            check_name("job", job_name)
        output_path = check_output_path(output_path) if output_path else None  # an ARM id in its azureml:// form
        if experiment_name is not None:
            check_name("experiment", experiment_name, "experiment_name")
        endpoint = self.get_batch_endpoint(endpoint_name)
        # azure-ai-ml posts the job, with a token, to the scoring URI the service returns.
        self.check_token_destination(endpoint["scoring_uri"], f"scoring_uri of endpoint {endpoint_name}")
        deployment_name = self._resolve_deployment(endpoint, deployment_name)
        ports = self.deployment_ports(endpoint_name, deployment_name)
        plan = _output_plan(ports, parsed, named, output_path, deployment_name)
        submit = {"inputs": parsed, "settings": settings, "experiment_name": experiment_name}
        found = self._attach_or_submit(endpoint_name, deployment_name, job_name, plan, submit)
        uris = found.pop("outputs")
        output_uri = None if ports is not None else uris.get(MODEL_OUTPUT)
        return {**found, "deployment_name": deployment_name, "output_uri": output_uri, "outputs": uris}

    def _attach_or_submit(
        self,
        endpoint_name: str,
        deployment_name: str,
        job_name: str | None,
        plan: OutputPlan,
        submit: dict[str, Any],
    ) -> dict[str, Any]:
        """The keyed submission's live or completed job, else one POST (resent only after looking again)."""
        retry = 0
        while True:
            retry += 1
            name, attempt, existing = job_name, 1, None
            if job_name is not None:
                attempt, existing = self.next_submission(endpoint_name, job_name, plan)
                name = series_name(job_name, attempt)
            outputs = plan.uris(job_name, attempt)
            if existing is not None:
                log.info("Job %s of %s is %s; attaching to it", existing.name, name, existing.status)
                return {"job_name": existing.name, "status": existing.status, "attached": True, "outputs": outputs}
            try:
                job = self._submit(endpoint_name, deployment_name, name, outputs, plan=plan, **submit)
            except AzureMLRemoteError as err:
                if job_name is None or retry == SUBMIT_ATTEMPTS or not is_transient(err):
                    raise
                log.warning("Submitting %s failed (%s); looking for it before resending", name, err)
                pause_before_resubmit(retry)
                continue
            return {**job, "attached": False, "outputs": outputs}

    def _submit(
        self,
        endpoint_name: str,
        deployment_name: str,
        name: str | None,
        outputs: Mapping[str, str],
        *,
        plan: OutputPlan,
        inputs: dict[str, BatchInput | JobLiteral],
        settings: BatchJobOverrides,
        experiment_name: str | None,
    ) -> dict[str, Any]:
        """One scoring POST (never resent by the client: see ``batch_invoke``)."""
        from azure.ai.ml import Input, Output

        sdk_inputs = {
            key: Input(type=item.type, default=item.value)
            if isinstance(item, JobLiteral)
            else Input(type=item.type, path=self._remote_uri(item))
            for key, item in inputs.items()
        }
        sdk_outputs = {key: Output(type=plan.output_type(key, uri), path=uri) for key, uri in outputs.items()}
        with remote_errors(f"Invoking batch endpoint {endpoint_name}"):
            job = self.get_client().batch_endpoints.invoke(
                endpoint_name,
                deployment_name=deployment_name,
                inputs=sdk_inputs,
                outputs=sdk_outputs or None,
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

    def deployment_ports(self, endpoint_name: str, deployment_name: str) -> ComponentPorts | None:  # pragma: no cover
        raise NotImplementedError

    def listed_jobs(self, endpoint_name: str, limit: int = MAX_LISTED_JOBS) -> Iterator[ListedJob]:
        """The endpoint's jobs, newest first as the service lists them, at most ``limit``.

        azure-ai-ml's ``batch_endpoints.list_jobs`` reads every page; this reads the same route page by page.
        """
        s = self.settings
        path = (
            f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{s.workspace_name}"
            f"/batchEndpoints/{endpoint_name}/jobs?api-version={_LIST_API_VERSION}"
        )
        seen = 0
        with remote_errors(f"Listing jobs of batch endpoint {endpoint_name}"):
            pages = workspace_api_pages(
                self.get_client(),
                s.workspace_name,
                path,
                lambda url: self.check_token_destination(url, f"job list of endpoint {endpoint_name}"),
            )
            for body in pages:
                for item in (body.get("value") or [])[: limit - seen]:
                    seen += 1
                    yield ListedJob.from_rest(item)
                if seen >= limit:
                    return

    def next_submission(self, endpoint_name: str, job_name: str, plan: OutputPlan) -> tuple[int, ListedJob | None]:
        """The first attempt of the series without a failed job, and its live or completed job if any."""
        listed = list(self.listed_jobs(endpoint_name))
        for attempt in range(1, MAX_RESUBMISSIONS + 1):
            job = next((item for item in listed if plan.identifies(item, job_name, attempt)), None)
            if job is None or job.status not in AzureMLJobStatus.FAILURE_STATUSES:
                return attempt, job
            log.info("Job %s (%s) ended %s; submitting the next of the series", job.name, job_name, job.status)
        raise AzureMLConfigurationError("job_name", f"{job_name} failed {MAX_RESUBMISSIONS} times; give a new name")


def _output_plan(
    ports: ComponentPorts | None,
    inputs: Mapping[str, BatchInput | JobLiteral],
    outputs: dict[str, str],
    output_path: str | None,
    deployment_name: str,
) -> OutputPlan:
    """Check the job against the deployment (its component, for a pipeline) and place its outputs."""
    if ports is None:
        check_model_job(inputs, outputs, deployment_name)
        placed = {MODEL_OUTPUT: output_path} if output_path else {}
        return OutputPlan(placed, keyed=() if output_path else (MODEL_OUTPUT,))
    if output_path:
        raise AzureMLConfigurationError(
            "output_path",
            f"{deployment_name} is a pipeline component deployment; name its outputs instead "
            f"(outputs={{name: datastore path}}; it has {', '.join(sorted(ports.outputs)) or 'none'})",
        )
    ports.check(inputs, outputs)
    keyed = tuple(name for name, kind in ports.outputs.items() if name not in outputs and kind == "uri_folder")
    return OutputPlan(outputs, keyed=keyed, per_output_folder=True, types=ports.outputs)


def pause_before_resubmit(attempt: int) -> None:
    time.sleep(RESUBMIT_DELAY * attempt)
