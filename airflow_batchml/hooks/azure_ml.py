"""AzureMLHook: the one place that talks to Azure Machine Learning, through azure-ai-ml's ``MLClient``.

Operators and sensors import this module when a DAG is parsed, so ``azure.ai.ml`` is imported only
inside methods (it costs over a second and ~100 MB). Every method returns plain, JSON-serialisable
values so results flow into XCom unchanged, and every SDK error leaves as one of ``exceptions.py``'s
types with credentials redacted.

Known azure-ai-ml 1.35 traps handled here: ``invoke`` keeps the last ``azureml-model-deployment`` header
in a class-level dict, so the deployment name is always resolved and passed; a Python-built deployment
with ``compute="azureml:x"`` sends a wrong id, so the prefix is stripped; ``JobStatus`` members stringify
as ``JobStatus.RUNNING``, so statuses are normalised; ARM polling defaults to 30 s, so the polling
interval is a hook argument.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook

from airflow_batchml.batch_job import LOCATION_DATA_ASSET_ID, BatchInput
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLNotFoundError
from airflow_batchml.hooks import deployment_spec
from airflow_batchml.hooks.batch_invoke import DEFAULT_DATASTORE, BatchInvokeOperations, send_posts_once
from airflow_batchml.hooks.clouds import CLOUDS, custom_cloud_metadata, custom_cloud_name, forget_inherited_custom_cloud
from airflow_batchml.hooks.component_ports import ComponentPortOperations
from airflow_batchml.hooks.connection_check import failure_message, success_message
from airflow_batchml.hooks.connection_settings import AzureMLConnectionSettings
from airflow_batchml.hooks.credentials import get_credential
from airflow_batchml.hooks.datastore_files import DatastoreFiles
from airflow_batchml.hooks.deployment_assets import (
    DeploymentAssetOperations,
    check_pipeline_component,
    check_scoring_script,
)
from airflow_batchml.hooks.errors import remote_errors
from airflow_batchml.hooks.job_status import AzureMLJobStatus, normalise_status
from airflow_batchml.hooks.local_scoring import LocalScoringOperations
from airflow_batchml.hooks.published_pipelines import PublishedPipelineOperations
from airflow_batchml.hooks.schedules import ScheduleOperations
from airflow_batchml.hooks.sdk_private import download_artifact, run_details, workspace_id
from airflow_batchml.hooks.token_destinations import check_token_destination
from airflow_batchml.names import check_name

log = logging.getLogger(__name__)
# azure-ai-ml's ComputeTier values, keyed by their case- and underscore-free form.
_COMPUTE_TIERS = {"dedicated": "dedicated", "lowpriority": "low_priority"}
# azure-core logs every request and response header at INFO; task logs want our lines, not those.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


class AzureMLHook(
    ScheduleOperations,
    PublishedPipelineOperations,
    ComponentPortOperations,  # before BatchInvokeOperations, whose stub of deployment_ports it provides
    BatchInvokeOperations,
    DeploymentAssetOperations,
    LocalScoringOperations,
    BaseHook,
):
    """Interact with one Azure ML workspace named by an ``azure_ml`` connection.

    :param azure_ml_conn_id: The ``azure_ml`` connection to use.
    :param polling_interval: Seconds between polls of long-running ARM operations when the service
        sends no ``Retry-After`` (the SDK's default is 30 s).
    """

    conn_name_attr = "azure_ml_conn_id"
    default_conn_name = "azure_ml_default"
    conn_type = "azure_ml"
    hook_name = "Azure Machine Learning"

    def __init__(self, azure_ml_conn_id: str = default_conn_name, polling_interval: float = 5.0) -> None:
        super().__init__()
        self.azure_ml_conn_id = azure_ml_conn_id
        self.polling_interval = polling_interval
        forget_inherited_custom_cloud()

    @cached_property
    def settings(self) -> AzureMLConnectionSettings:
        """The validated connection; raises AzureMLConfigurationError before any network call."""
        return AzureMLConnectionSettings.from_connection(self.get_connection(self.azure_ml_conn_id))

    def get_conn(self) -> Any:
        return self.get_client()

    def get_client(self) -> Any:
        """Return the configured ``azure.ai.ml.MLClient`` (one per hook)."""
        return self._client

    @cached_property
    def _client(self) -> Any:
        from azure.ai.ml import MLClient

        settings = self.settings
        kwargs: dict[str, Any] = {"polling_interval": self.polling_interval, "cloud": settings.cloud}
        if settings.resource_manager_url:
            url, storage = settings.resource_manager_url, settings.storage_endpoint
            kwargs["cloud"] = custom_cloud_name(url, storage)
            kwargs["cloud_metadata"] = custom_cloud_metadata(url, CLOUDS[settings.cloud], storage)
        if settings.ca_bundle:
            kwargs["connection_verify"] = settings.ca_bundle
        client = MLClient(
            credential=get_credential(settings),
            subscription_id=settings.subscription_id,
            resource_group_name=settings.resource_group,
            workspace_name=settings.workspace_name,
            **kwargs,
        )
        send_posts_once(client)
        return client

    def test_connection(self) -> tuple[bool, str]:
        """Read the workspace, one authenticated GET (the connection form's Test button); never raises.

        The message names the step that failed and carries no secret: Airflow shows it in the browser.
        """
        try:
            settings = self.settings
        except AzureMLConfigurationError as err:
            return False, f"Invalid connection: {err}"
        try:
            workspace = self.get_client().workspaces.get(settings.workspace_name)
        except Exception as err:  # every failure becomes the button's message, as the Azure provider's hooks do
            return False, failure_message(err, settings)
        return True, success_message(workspace, settings)

    def check_token_destination(self, url: str, field: str) -> None:
        """Refuse ``url`` (naming ``field``) unless the connection's token may be sent there."""
        check_token_destination(url, field, self.settings, lambda: self._workspace_region)

    @cached_property
    def _workspace(self) -> Any:
        with remote_errors(f"Reading workspace {self.settings.workspace_name}"):
            return self.get_client().workspaces.get(self.settings.workspace_name)

    @property
    def _workspace_region(self) -> str:
        return self._workspace.location

    # -- compute ------------------------------------------------------------------------------------

    def ensure_compute(
        self,
        name: str,
        *,
        size: str = "Standard_DS3_v2",
        min_instances: int = 0,
        max_instances: int = 1,
        idle_time_before_scale_down: int = 120,
        tier: str = "dedicated",
    ) -> dict[str, Any]:
        """Create or update an AmlCompute cluster and return its description."""
        from azure.ai.ml.entities import AmlCompute

        check_name("compute", name)
        if not 0 <= min_instances <= max_instances or max_instances < 1:
            raise AzureMLConfigurationError(
                "max_instances",
                f"need 0 <= min_instances ({min_instances}) <= max_instances ({max_instances}), max >= 1",
            )
        compute = AmlCompute(
            name=name,
            size=size,
            min_instances=min_instances,
            max_instances=max_instances,
            idle_time_before_scale_down=idle_time_before_scale_down,
            tier=_compute_tier(tier),
        )
        with remote_errors(f"Creating compute {name}"):
            result = self.get_client().compute.begin_create_or_update(compute).result()
        return _compute_dict(result)

    def delete_compute(self, name: str) -> None:
        check_name("compute", name)
        with remote_errors(f"Deleting compute {name}"):
            self.get_client().compute.begin_delete(name).result()

    # -- endpoints and deployments --------------------------------------------------------------------

    def create_or_update_batch_endpoint(
        self,
        name: str | None = None,
        *,
        yaml_path: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create or update a batch endpoint from a YAML file (``az ml batch-endpoint`` form) or arguments.

        An ARM PUT replaces the whole resource, so re-running a create on an existing endpoint would drop
        its default deployment; a definition that names no default keeps the one the endpoint has.
        """
        from azure.ai.ml.entities import BatchEndpoint

        if not (name or yaml_path):
            raise AzureMLConfigurationError("endpoint_name", "give endpoint_name, yaml_path, or both")
        endpoint = deployment_spec.load_endpoint(yaml_path) if yaml_path else BatchEndpoint(name=name)
        endpoint.name = check_name("endpoint", name or endpoint.name)
        if description is not None:
            endpoint.description = description
        if tags:
            endpoint.tags = {**(endpoint.tags or {}), **tags}
        deployment_spec.check_entity_string_maps(endpoint)
        if not endpoint.defaults:
            endpoint.defaults = {"deployment_name": self._current_default(endpoint.name)}
        with remote_errors(f"Creating batch endpoint {endpoint.name}"):
            result = self.get_client().batch_endpoints.begin_create_or_update(endpoint).result()
        return _endpoint_dict(result)

    def _current_default(self, endpoint_name: str) -> str | None:
        try:
            return self.get_batch_endpoint(endpoint_name)["default_deployment"]
        except AzureMLNotFoundError:
            return None

    def get_batch_endpoint(self, name: str) -> dict[str, Any]:
        check_name("endpoint", name)
        with remote_errors(f"Reading batch endpoint {name}"):
            return _endpoint_dict(self.get_client().batch_endpoints.get(name))

    def delete_batch_endpoint(self, name: str) -> None:
        check_name("endpoint", name)
        with remote_errors(f"Deleting batch endpoint {name}"):
            self.get_client().batch_endpoints.begin_delete(name).result()

    def list_batch_deployments(self, endpoint_name: str) -> list[str]:
        check_name("endpoint", endpoint_name)
        with remote_errors(f"Listing deployments of {endpoint_name}"):
            return [item.name for item in self.get_client().batch_deployments.list(endpoint_name)]

    def create_or_update_batch_deployment(
        self,
        deployment: Any,
        *,
        endpoint_name: str | None = None,
        name: str | None = None,
        set_default: bool = False,
    ) -> dict[str, Any]:
        """Create or update a batch deployment (model or pipeline component) from a YAML path or an SDK entity.

        Local ``model`` and ``code`` folders, and a local pipeline component's step code folders, are uploaded
        through the connection's WASB connection when it names one; otherwise azure-ai-ml uploads them itself.
        A local pipeline component, its steps and their environments are registered by azure-ai-ml.
        """
        from azure.ai.ml.entities import PipelineComponentBatchDeployment

        if isinstance(deployment, (str, Path)):
            deployment = deployment_spec.load_deployment(deployment)
        deployment.endpoint_name = check_name("endpoint", endpoint_name or deployment.endpoint_name, "endpoint_name")
        deployment.name = check_name("deployment", name or deployment.name)
        deployment_spec.check_entity_string_maps(deployment)
        if isinstance(deployment, PipelineComponentBatchDeployment):
            deployment_spec.check_pipeline_deployment(deployment)
            check_pipeline_component(deployment.component)
            self._upload_step_code(deployment.component)
        else:
            deployment.compute = deployment_spec.strip_azureml_prefix(deployment.compute)
            check_scoring_script(deployment)
            self._upload_local_assets(deployment)
        with remote_errors(f"Creating batch deployment {deployment.name} of {deployment.endpoint_name}"):
            result = self.get_client().batch_deployments.begin_create_or_update(deployment).result()
        if set_default:
            self.set_default_deployment(deployment.endpoint_name, deployment.name)
        return {"name": result.name, "endpoint_name": deployment.endpoint_name, "default": set_default}

    def set_default_deployment(self, endpoint_name: str, deployment_name: str) -> dict[str, Any]:
        """Route the endpoint's un-named invocations to ``deployment_name``."""
        check_name("endpoint", endpoint_name)
        check_name("deployment", deployment_name)
        client = self.get_client()
        with remote_errors(f"Setting default deployment of {endpoint_name}"):
            endpoint = client.batch_endpoints.get(endpoint_name)
            if deployment_name not in self.list_batch_deployments(endpoint_name):
                raise AzureMLNotFoundError(f"Deployment {deployment_name} does not exist in endpoint {endpoint_name}")
            if endpoint.defaults is None or isinstance(endpoint.defaults, dict):
                endpoint.defaults = {"deployment_name": deployment_name}
            else:
                endpoint.defaults.deployment_name = deployment_name
            return _endpoint_dict(client.batch_endpoints.begin_create_or_update(endpoint).result())

    def delete_batch_deployment(self, endpoint_name: str, deployment_name: str) -> None:
        check_name("endpoint", endpoint_name)
        check_name("deployment", deployment_name)
        with remote_errors(f"Deleting batch deployment {deployment_name} of {endpoint_name}"):
            self.get_client().batch_deployments.begin_delete(deployment_name, endpoint_name).result()

    @cached_property
    def _datastore_files(self) -> DatastoreFiles | None:
        if not self.settings.wasb_conn_id:
            return None
        with remote_errors(f"Reading datastore {DEFAULT_DATASTORE}"):
            datastore = self.get_client().datastores.get(DEFAULT_DATASTORE)
        return DatastoreFiles(self.settings.wasb_conn_id, DEFAULT_DATASTORE, datastore.container_name)

    def read_datastore_file(self, uri: str) -> bytes:
        """Download one file named by a datastore URI (a job's ``predictions.csv``, say)."""
        if self._datastore_files is not None:
            return self._datastore_files.read(uri)
        with tempfile.TemporaryDirectory() as folder, remote_errors(f"Downloading {uri}"):
            download_artifact(uri, folder, self.get_client())
            files = [p for p in Path(folder).rglob("*") if p.is_file()]
            if len(files) != 1:
                raise AzureMLNotFoundError(f"Downloading {uri}: expected one file, found {len(files)}")
            return files[0].read_bytes()

    # -- jobs ----------------------------------------------------------------------------------------

    def _resolve_deployment(self, endpoint: dict[str, Any], deployment_name: str | None) -> str:
        """Name the deployment explicitly (trap: the SDK otherwise reuses the last one invoked)."""
        endpoint_name = endpoint["name"]
        if deployment_name:
            check_name("deployment", deployment_name)
            known = self.list_batch_deployments(endpoint_name)
            if deployment_name not in known:
                raise AzureMLConfigurationError(
                    "deployment_name",
                    f"{deployment_name!r} is not a deployment of {endpoint_name}; known: {', '.join(known) or 'none'}",
                )
            return deployment_name
        default = endpoint["default_deployment"]
        if not default:
            raise AzureMLConfigurationError(
                "deployment_name", f"endpoint {endpoint_name} has no default deployment; name one"
            )
        return default

    def _remote_uri(self, item: BatchInput) -> str:
        if item.is_local and self._datastore_files is not None:
            return self._datastore_files.upload(item.uri.removeprefix("file://"))
        if match := LOCATION_DATA_ASSET_ID.fullmatch(item.uri):
            return self._own_data_asset(match)
        return item.uri

    def _own_data_asset(self, match: re.Match[str]) -> str:
        """``azureml://locations/<region>/workspaces/<guid>/data/<n>/versions/<v>`` as ``azureml:<n>:<v>``,
        the form azure-ai-ml sends correctly, when the id names this connection's workspace."""
        workspace = self._workspace
        own = (str(workspace.location).lower(), workspace_id(workspace).lower())
        if (match["region"].lower(), match["workspace_id"].lower()) != own:
            raise AzureMLConfigurationError(
                "inputs", f"{match[0]!r} names a data asset of another workspace than {self.settings.workspace_name}"
            )
        return f"azureml:{match['name']}:{match['version']}"

    def find_job(self, job_name: str) -> dict[str, Any] | None:
        """Return the job's state, or None when no job has that name."""
        try:
            return self.get_job(job_name)
        except AzureMLNotFoundError:
            return None

    def get_job(self, job_name: str) -> dict[str, Any]:
        """Return ``{"job_name", "status", "error", "studio_url"}`` with the status as the wire spells it."""
        check_name("job", job_name)
        with remote_errors(f"Reading job {job_name}"):
            job = self.get_client().jobs.get(job_name)
        status = normalise_status(job.status, job.name)
        return {
            "job_name": job.name,
            "status": status,
            "error": self._job_error(job.name) if status in AzureMLJobStatus.FAILURE_STATUSES else None,
            "studio_url": getattr(job, "studio_url", None),
        }

    def _job_error(self, job_name: str) -> str | None:
        """The failure message from run history (the record ``az ml job show`` and studio read it from)."""
        try:
            details = run_details(self.get_client(), job_name)
        except Exception as err:  # the message is a nicety; the status already says the job failed
            log.warning("Could not read the error of job %s: %s", job_name, type(err).__name__)
            return None
        error = getattr(getattr(details, "error", None), "error", None)
        return getattr(error, "message", None)

    def cancel_job(self, job_name: str) -> None:
        """Ask Azure ML to cancel the job; return once the request is accepted, not when the job has stopped.

        ``begin_cancel`` sends the POST and raises unless the service accepts it (202); the cancel itself is
        a long-running operation (about 30 s on Azure) that kill and timeout paths need not wait for, so the
        poller is created without polling.
        """
        check_name("job", job_name)
        with remote_errors(f"Cancelling job {job_name}"):
            self.get_client().jobs.begin_cancel(job_name, polling=False)


def _compute_tier(tier: object) -> str:
    """The SDK's spelling of a VM tier; like the SDK, any case and ``LowPriority`` (its samples' form) pass."""
    key = tier.replace("_", "").lower() if isinstance(tier, str) else None
    if key not in _COMPUTE_TIERS:
        raise AzureMLConfigurationError("tier", f"{tier!r} is not one of dedicated, low_priority (any case)")
    return _COMPUTE_TIERS[key]


def _compute_dict(compute: Any) -> dict[str, Any]:
    return {
        "name": compute.name,
        "size": getattr(compute, "size", None),
        "min_instances": getattr(compute, "min_instances", None),
        "max_instances": getattr(compute, "max_instances", None),
        "provisioning_state": getattr(compute, "provisioning_state", None),
    }


def _endpoint_dict(endpoint: Any) -> dict[str, Any]:
    defaults = getattr(endpoint, "defaults", None)
    if isinstance(defaults, dict):
        default = defaults.get("deployment_name") or defaults.get("deploymentName")
    else:
        default = getattr(defaults, "deployment_name", None)
    return {
        "name": endpoint.name,
        "scoring_uri": endpoint.scoring_uri,
        "default_deployment": default,
        "provisioning_state": endpoint.provisioning_state,
    }
