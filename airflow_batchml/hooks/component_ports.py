"""What a batch deployment takes, read before a job is submitted to it (read-only calls).

A model deployment takes one data input and writes one output: nothing to read beyond its type. A
pipeline component deployment takes what its component declares, so the deployment's component id is
read (``deploymentConfiguration.componentId``, which azure-ai-ml's ``BatchDeployment`` entity drops) and
the component fetched, and the invocation checked against its inputs and outputs (``batch_job``).
"""

from __future__ import annotations

import re
from typing import Any

from airflow_batchml.batch_job import ComponentInput, ComponentPorts
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.errors import remote_errors
from airflow_batchml.hooks.sdk_private import rest_batch_deployment

#: A workspace component version by ARM id, with or without the ``azureml:`` prefix; use with ``fullmatch``.
_COMPONENT_ID = re.compile(
    r"(azureml:)?/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+/components/(?P<name>[^/]+)/versions/(?P<version>[^/]+)",
    re.I,
)


class ComponentPortOperations:
    """Read what a deployment's component declares; a mixin of AzureMLHook."""

    def deployment_ports(self, endpoint_name: str, deployment_name: str) -> ComponentPorts | None:
        """None for a model deployment; the component's inputs and outputs for a pipeline component one."""
        with remote_errors(f"Reading deployment {deployment_name} of {endpoint_name}"):
            deployment = rest_batch_deployment(self.get_client(), endpoint_name, deployment_name)
        configuration = deployment.properties.deployment_configuration
        kind = str(getattr(configuration, "deployment_configuration_type", None) or "")
        if kind.lower() != "pipelinecomponent":
            return None
        asset_id = str(configuration.component_id.asset_id)
        match = _COMPONENT_ID.fullmatch(asset_id)
        if not match:
            raise AzureMLConfigurationError(
                "deployment_name",
                f"{deployment_name} runs component {asset_id!r}; only a component of this workspace can be "
                "checked before submission (a registry component is not supported)",
            )
        name, version = match["name"], match["version"]
        with remote_errors(f"Reading component {name}:{version} of deployment {deployment_name}"):
            component = self.get_client().components.get(name=name, version=version)
        return ports_of(component, f"{name}:{version}")

    def get_client(self) -> Any:  # pragma: no cover - provided by the hook
        raise NotImplementedError


def ports_of(component: Any, label: str) -> ComponentPorts:
    """A component entity's inputs (type; required when it has no default and is not optional) and outputs."""
    inputs = {
        name: ComponentInput(str(port.type), required=not port.optional and port.default is None)
        for name, port in (component.inputs or {}).items()
    }
    outputs = {name: str(port.type) for name, port in (component.outputs or {}).items()}
    return ComponentPorts(label, inputs, outputs)
