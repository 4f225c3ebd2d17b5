"""Batch endpoints and their deployments: create (from ``az ml`` YAML or arguments), promote, delete.

Every create is create-or-update, so a retried task converges on the same resources; every delete
treats "already gone" as done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_batchml.exceptions import AzureMLNotFoundError
from airflow_batchml.operators.base import AzureMLBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class AzureMLCreateBatchEndpointOperator(AzureMLBaseOperator):
    """Create or update a batch endpoint.

    :param endpoint_name: The endpoint; overrides the YAML's name. (templated)
    :param yaml_path: An endpoint YAML as ``az ml batch-endpoint create --file`` takes. (templated)
    :param description: Endpoint description. (templated)
    :param tags: Tags to add. (templated)
    """

    template_fields: Sequence[str] = ("endpoint_name", "yaml_path", "description", "tags", "azure_ml_conn_id")
    template_ext: Sequence[str] = ()

    def __init__(
        self,
        *,
        endpoint_name: str | None = None,
        yaml_path: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.yaml_path = yaml_path
        self.description = description
        self.tags = tags

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.create_or_update_batch_endpoint(
            self.endpoint_name, yaml_path=self.yaml_path, description=self.description, tags=self.tags
        )


class AzureMLDeleteBatchEndpointOperator(AzureMLBaseOperator):
    """Delete a batch endpoint and its deployments.

    :param endpoint_name: The endpoint. (templated)
    """

    template_fields: Sequence[str] = ("endpoint_name", "azure_ml_conn_id")

    def __init__(self, *, endpoint_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name

    def execute(self, context: Context) -> None:
        try:
            self.hook.delete_batch_endpoint(self.endpoint_name)
        except AzureMLNotFoundError:
            self.log.info("Endpoint %s does not exist; nothing to delete", self.endpoint_name)


class AzureMLCreateBatchDeploymentOperator(AzureMLBaseOperator):
    """Create or update a batch deployment from an ``az ml batch-deployment`` YAML file or an SDK entity.

    A model deployment (``type: model``, or the older flat form) or a pipeline component deployment
    (``type: pipeline``: the v2 home of a v1 published pipeline), whose ``component`` is a local pipeline
    component YAML or ``azureml:<name>:<version>``, or whose ``job_definition`` names an existing pipeline
    job; its ``settings`` take ``default_compute``, ``default_datastore``, ``continue_on_step_failure`` and
    ``force_rerun``. A local component, its steps' code and their environments are registered as azure-ai-ml
    registers them (code through the connection's WASB connection when it names one).

    :param deployment: Path of a deployment YAML, or a ``BatchDeployment``, ``ModelBatchDeployment`` or
        ``PipelineComponentBatchDeployment``. (templated)
    :param endpoint_name: The endpoint; overrides the YAML's ``endpoint_name``. (templated)
    :param deployment_name: The deployment; overrides the YAML's ``name``. (templated)
    :param set_default: Make it the endpoint's default deployment once created.
    """

    template_fields: Sequence[str] = ("deployment", "endpoint_name", "deployment_name", "azure_ml_conn_id")

    def __init__(
        self,
        *,
        deployment: Any,
        endpoint_name: str | None = None,
        deployment_name: str | None = None,
        set_default: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deployment = deployment
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name
        self.set_default = set_default

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.create_or_update_batch_deployment(
            self.deployment, endpoint_name=self.endpoint_name, name=self.deployment_name, set_default=self.set_default
        )


class AzureMLSetDefaultDeploymentOperator(AzureMLBaseOperator):
    """Promote a deployment to be the endpoint's default.

    :param endpoint_name: The endpoint. (templated)
    :param deployment_name: The deployment to promote. (templated)
    """

    template_fields: Sequence[str] = ("endpoint_name", "deployment_name", "azure_ml_conn_id")

    def __init__(self, *, endpoint_name: str, deployment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.set_default_deployment(self.endpoint_name, self.deployment_name)


class AzureMLDeleteBatchDeploymentOperator(AzureMLBaseOperator):
    """Delete a (non-default) deployment of a batch endpoint.

    :param endpoint_name: The endpoint. (templated)
    :param deployment_name: The deployment. (templated)
    """

    template_fields: Sequence[str] = ("endpoint_name", "deployment_name", "azure_ml_conn_id")

    def __init__(self, *, endpoint_name: str, deployment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name

    def execute(self, context: Context) -> None:
        try:
            self.hook.delete_batch_deployment(self.endpoint_name, self.deployment_name)
        except AzureMLNotFoundError:
            self.log.info(
                "Deployment %s/%s does not exist; nothing to delete", self.endpoint_name, self.deployment_name
            )
