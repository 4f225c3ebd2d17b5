"""The workspace and the discovery document.

The SDK reads the workspace ``location`` before every create, and ``properties.discoveryUrl`` to find the
base of the data-plane routes (batch job lists, run history); the discovery GET carries no token.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_batchml_emulator.handlers.common import RESOURCE_TYPE, arm_json, ctx_of


def get_workspace(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    body = {
        "id": ctx.workspace_id,
        "name": ctx.workspace_name,
        "type": RESOURCE_TYPE,
        "location": ctx.location,
        "kind": "Default",
        "properties": {
            "friendlyName": ctx.workspace_name,
            # The workspace's GUID (REST spec: WorkspaceProperties.workspaceId), stable for its ARM id.
            "workspaceId": str(uuid.uuid5(uuid.NAMESPACE_URL, ctx.workspace_id.lower())),
            "discoveryUrl": f"{ctx.base_url}/discovery",
            "provisioningState": "Succeeded",
            "mlFlowTrackingUri": f"azureml://{ctx.location}.api.azureml.ms/mlflow/v1.0{ctx.workspace_id}",
        },
    }
    return arm_json(body)


def get_discovery(request: Request) -> JSONResponse:
    """Every data-plane service of the workspace is the emulator itself."""
    base = ctx_of(request).base_url
    services = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling")
    return arm_json({**{service: base for service in services}, "modelmanagement": base, "pipelines": base})
