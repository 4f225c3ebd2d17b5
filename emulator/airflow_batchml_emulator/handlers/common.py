"""What every handler shares: the emulator context, ARM ids, JSON responses and body checks."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Body, Request
from fastapi.responses import JSONResponse

from airflow_batchml_emulator.errors import BadRequest, NotFound
from airflow_batchml_emulator.faults import FaultInjector
from airflow_batchml_emulator.state import Resource, StateStore

PROVIDER = "Microsoft.MachineLearningServices"
RESOURCE_TYPE = f"{PROVIDER}/workspaces"

# A JSON request body of any shape; handlers check it themselves and name the bad field in a 400.
JsonBody = Annotated[Any, Body()]


@dataclass
class StorageAccount:
    """The blob storage behind the datastores, from an Azure Storage connection string.

    ``client_suffix`` is set when clients reach the storage through the storage proxy: they then see it as
    ``https://{account}.blob.{client_suffix}``, the host form azure-ai-ml builds from the cloud's suffix.
    """

    connection_string: str
    account_name: str
    account_key: str
    blob_endpoint: str
    client_suffix: str | None = None

    @classmethod
    def from_connection_string(cls, connection_string: str) -> StorageAccount:
        parts = dict(item.split("=", 1) for item in connection_string.strip().strip(";").split(";") if "=" in item)
        try:
            account, key = parts["AccountName"], parts["AccountKey"]
        except KeyError as err:
            raise ValueError(f"The storage connection string has no {err.args[0]}") from err
        protocol = parts.get("DefaultEndpointsProtocol", "https")
        suffix = parts.get("EndpointSuffix", "core.windows.net")
        endpoint = parts.get("BlobEndpoint") or f"{protocol}://{account}.blob.{suffix}"
        return cls(connection_string, account, key, endpoint.rstrip("/"))

    @property
    def client_endpoint(self) -> str:
        """The blob endpoint as clients name it (the connection string's, unless proxied)."""
        if self.client_suffix:
            return f"https://{self.account_name}.blob.{self.client_suffix}"
        return self.blob_endpoint

    @property
    def endpoint_host(self) -> str:
        """The datastore's ``endpoint``: Azure's is the suffix (``core.windows.net``), as is the proxied one."""
        return self.client_suffix or urlsplit(self.blob_endpoint).netloc

    @property
    def protocol(self) -> str:
        return urlsplit(self.client_endpoint).scheme

    def ensure_container(self, container: str) -> None:
        """Create a container if it is missing (the SDK never creates one and hangs if it is absent)."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        with (
            BlobServiceClient.from_connection_string(self.connection_string) as service,
            contextlib.suppress(ResourceExistsError),
        ):
            service.create_container(container)

    def create_container_with_sas(self, container: str, hours: int = 1) -> str:
        """Create ``container`` and return its URL with a read/write/create/add/list SAS."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        self.ensure_container(container)
        sas = generate_container_sas(
            self.account_name,
            container,
            account_key=self.account_key,
            permission=ContainerSasPermissions(read=True, write=True, create=True, add=True, list=True),
            expiry=datetime.now(UTC) + timedelta(hours=hours),
        )
        return f"{self.client_endpoint}/{container}?{sas}"


@dataclass
class EmulatorContext:
    """The one workspace the emulator serves and the services handlers use."""

    store: StateStore
    engine: Any
    storage: StorageAccount
    base_url: str
    token: str
    datastores: dict[str, str]
    faults: FaultInjector = field(default_factory=FaultInjector)
    # How long a create, update or delete stays running before it succeeds (lro.py); Azure takes ~30 s.
    lro_seconds: float = 1.0
    honour_job_names: bool = False  # Azure ignores a requested batch job name; tests may want it kept
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "local-rg"
    workspace_name: str = "local-ws"
    location: str = "eastus"

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{PROVIDER}/workspaces/{self.workspace_name}"
        )

    def arm_id(self, path: str) -> str:
        """Full ARM id of a resource given its path inside the workspace."""
        return f"{self.workspace_id}/{path}"

    def sign(self, value: str) -> str:
        """HMAC signature for URLs the SDK fetches without a token (log files)."""
        return hmac.new(self.token.encode(), value.encode(), hashlib.sha256).hexdigest()


def ctx_of(request: Request) -> EmulatorContext:
    return request.app.state.ctx


def arm_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def arm_resource(ctx: EmulatorContext, resource: Resource, arm_type: str) -> dict[str, Any]:
    """The ARM envelope (id, name, type, systemData) around a stored body."""
    return {
        **resource.body,
        "id": ctx.arm_id(resource.path),
        "name": resource.name,
        "type": f"{RESOURCE_TYPE}/{arm_type}",
        "systemData": {"createdAt": resource.created_at, "lastModifiedAt": resource.updated_at},
    }


def require(ctx: EmulatorContext, kind: str, path: str, label: str) -> Resource:
    resource = ctx.store.get(kind, path)
    if resource is None:
        raise NotFound(f"{label} {path.rsplit('/', 1)[-1]} was not found in workspace {ctx.workspace_name}.")
    return resource


def properties_of(body: Any, resource: str) -> dict[str, Any]:
    """The ``properties`` object of a PUT body, or a 400 naming the missing field."""
    if not isinstance(body, dict):
        raise BadRequest(f"The request body for {resource} must be a JSON object.")
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise BadRequest(f"The field 'properties' is required for {resource} and must be an object.")
    return properties


_ARM_PATH = re.compile(r"/workspaces/[^/]+/(?P<path>.+)\Z", re.IGNORECASE)


def workspace_path(asset_id: str) -> str:
    """``{ws}/models/m/versions/1`` or ``azureml:/.../models/m/versions/1`` -> ``models/m/versions/1``."""
    value = asset_id.removeprefix("azureml:")
    match = _ARM_PATH.search(value)
    return match.group("path") if match else value.lstrip("/")


def page(items: list[Any], next_link: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"value": items}
    if next_link:
        body["nextLink"] = next_link
    return body
