"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point.

Kept free of heavy imports: Airflow reads it in every process that lists providers or renders the
connection form, so it must not pull in ``azure.ai.ml``.
"""

from __future__ import annotations

from typing import Any

from airflow_batchml import __version__


def _text(label: str, description: str, *, secret: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"]}
    if secret:
        schema["format"] = "password"
    return {"label": label, "description": description, "schema": schema}


CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "tenant_id": _text("Tenant ID", "Microsoft Entra tenant of the service principal."),
    "subscription_id": _text("Subscription ID", "Subscription that holds the workspace (required)."),
    "resource_group": _text("Resource group", "Resource group of the workspace (required)."),
    "workspace_name": _text("Workspace name", "Azure Machine Learning workspace (required)."),
    "client_certificate_path": _text(
        "Client certificate path", "PEM or PKCS12 certificate of the service principal, instead of a secret."
    ),
    "client_certificate_password": _text(
        "Client certificate password", "Password of the certificate file, if any.", secret=True
    ),
    "managed_identity_client_id": _text(
        "Managed identity client ID", "User-assigned managed identity to use (system-assigned when empty)."
    ),
    "workload_identity_tenant_id": _text(
        "Workload identity tenant ID", "Tenant for workload identity federation (Kubernetes)."
    ),
    "token": _text(
        "Static bearer token", "A pre-fetched access token (also what the local emulator uses).", secret=True
    ),
    "cloud": _text("Cloud", "AzureCloud (default), AzureChinaCloud or AzureUSGovernment."),
    "resource_manager_url": _text(
        "Custom resource manager URL", "Resource manager of a custom cloud or of the local emulator."
    ),
    "ca_bundle": _text("CA bundle path", "Certificates to trust for the custom resource manager."),
    "storage_endpoint": _text(
        "Storage endpoint suffix",
        "Storage host suffix of the custom cloud (https://{account}.blob.{suffix}); core.windows.net by default.",
    ),
    "wasb_conn_id": _text(
        "WASB connection for uploads",
        "Upload local model, code and input folders through this WASB connection to the workspace's "
        "default datastore, instead of azure-ai-ml's own uploader.",
    ),
}

AZURE_ML_CONNECTION_TYPE: dict[str, Any] = {
    "hook-class-name": "airflow_batchml.hooks.azure_ml.AzureMLHook",
    "hook-name": "Azure Machine Learning",
    "connection-type": "azure_ml",
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "host"],
        "relabeling": {"login": "Client ID", "password": "Client secret"},
        "placeholders": {
            "login": "service principal client (application) id",
            "password": "service principal secret",
            "cloud": "AzureCloud",
        },
    },
    "conn-fields": CONNECTION_FIELDS,
}


INTEGRATION = "Azure Machine Learning batch endpoints"
OPERATOR_MODULES = ("compute", "batch_endpoint", "batch_scoring", "pipelines", "schedules")


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow validates at discovery."""
    return {
        "package-name": "airflow-batchml",
        "name": "Azure ML batch scoring",
        "description": "Azure Machine Learning batch endpoints, deployments, jobs, schedules and "
        "blob-change triggers for Apache Airflow 3.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://learn.microsoft.com/azure/machine-learning/concept-endpoints-batch",
                "tags": ["azure"],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_batchml.hooks.azure_ml",
                    "airflow_batchml.hooks.azure_ml_async",
                    "airflow_batchml.hooks.blob_queue",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"airflow_batchml.operators.{name}" for name in OPERATOR_MODULES],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_batchml.sensors.job",
                    "airflow_batchml.sensors.blob_changes",
                    "airflow_batchml.sensors.blob_events",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_batchml.triggers.job",
                    "airflow_batchml.triggers.blob_changes",
                    "airflow_batchml.triggers.blob_events",
                ],
            }
        ],
        "extra-links": ["airflow_batchml.links.AzureMLJobLink"],
        "connection-types": [AZURE_ML_CONNECTION_TYPE],
    }
