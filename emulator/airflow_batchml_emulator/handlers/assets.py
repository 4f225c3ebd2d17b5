"""Versioned assets (models, codes, environments, data, components) and the datastores behind them.

The rules are the ones azure-ai-ml depends on (read in its asset operations): containers carry
``latestVersion``/``nextVersion``; version PUTs answer with ``id``; models always have a ``flavors`` object;
a code hash is searched across all code containers; an identical environment re-PUT is a 200 and a
changed one a 409, which makes the SDK move to ``nextVersion``; a model/code/data version cannot change
its path; component rules are in ``components.py``. Handlers for one family are made by
:func:`family_handlers`, so the route table stays a table.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_batchml_emulator.errors import BadRequest, Conflict, NotFound, asset_detail
from airflow_batchml_emulator.handlers import components
from airflow_batchml_emulator.handlers.common import (
    EmulatorContext,
    JsonBody,
    arm_json,
    arm_resource,
    ctx_of,
    page,
    properties_of,
)
from airflow_batchml_emulator.state import Resource

FAMILIES = ("models", "codes", "environments", "data", "components")
_PATH_FIELDS = {"models": "modelUri", "codes": "codeUri", "data": "dataUri"}
# What a version's re-PUT may not change (a 409 makes azure-ai-ml move to nextVersion).
_CONTENT = {
    "environments": ("image", "condaFile", "build", "inferenceConfig", "osType"),
    "components": ("componentSpec",),
}
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_VERSION_RULE = "1-255 ASCII letters, digits, '.', '-' and '_', starting with a letter or digit"
# ASCII only: str.isdigit() also accepts '²', which int() refuses.
_NUMBER = re.compile(r"[0-9]+")


def version_kind(family: str) -> str:
    return f"{family}.versions"


def find_version(ctx: EmulatorContext, path: str) -> Resource | None:
    """The version at ``{family}/{name}/versions/{v}``, or None (also for paths of other shapes)."""
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[0] not in FAMILIES or parts[2] != "versions":
        return None
    return ctx.store.get(version_kind(parts[0]), "/".join(parts))


def family_handlers(family: str) -> dict[str, Callable[..., JSONResponse]]:
    """The route handlers of one asset family, keyed by operation."""

    def get_container(request: Request, name: str) -> JSONResponse:
        ctx = ctx_of(request)
        body = _container(ctx, family, name)
        if body is None:
            raise NotFound(f"Asset {name} ({family}) was not found in workspace {ctx.workspace_name}.")
        return arm_json(body)

    def put_container(request: Request, name: str, body: JsonBody = None) -> JSONResponse:
        ctx = ctx_of(request)
        properties = properties_of(body, f"{family} container {name}")
        _, created = ctx.store.put(family, f"{family}/{name}", {"properties": properties})
        return arm_json(_container(ctx, family, name), 201 if created else 200)

    def list_containers(request: Request) -> JSONResponse:
        ctx = ctx_of(request)
        names = {item.path.split("/")[1] for item in ctx.store.list(version_kind(family))}
        names |= {item.name for item in ctx.store.list(family)}
        return arm_json(page([_container(ctx, family, name) for name in sorted(names)]))

    def list_versions(request: Request, name: str) -> JSONResponse:
        ctx = ctx_of(request)
        query = request.query_params
        top = _top(query["$top"]) if "$top" in query else None
        if family == "codes" and query.get("hash"):
            items = [item for item in ctx.store.list(version_kind(family)) if _code_hash(item) == query["hash"]]
        else:
            items = ctx.store.list(version_kind(family), f"{family}/{name}/versions/")
            if family == "models" and not items and ctx.store.get(family, f"{family}/{name}") is None:
                detail = asset_detail("ModelNotFound", f"Model container with name: {name} not found.")
                raise NotFound("The specified resource was not found.", code="UserError", details=[detail])
        if "desc" in query.get("$orderBy", "").lower():
            items.reverse()
        if top is not None:
            items = items[:top]
        return arm_json(page([_version(ctx, family, item) for item in items]))

    def get_version(request: Request, name: str, version: str) -> JSONResponse:
        ctx = ctx_of(request)
        item = find_version(ctx, f"{family}/{name}/versions/{version}")
        if item is None and family == "models":  # recorded: UserError with one NoSuchModelRegistered detail
            message = f"There is no registered model in workspace {ctx.workspace_name} with id {name}:{version}"
            detail = asset_detail("NoSuchModelRegistered", message)
            raise NotFound("The specified resource was not found.", code="UserError", details=[detail])
        if item is None:
            raise NotFound(f"Version {version} of asset {name} ({family}) was not found.")
        return arm_json(_version(ctx, family, item))

    def put_version(request: Request, name: str, version: str, body: JsonBody = None) -> JSONResponse:
        ctx = ctx_of(request)
        if not _VERSION.fullmatch(version):
            raise BadRequest(f"version: {version!r} is not a valid asset version ({_VERSION_RULE}).", code="UserError")
        properties = properties_of(body, f"{family} {name} version {version}")
        if family == components.FAMILY:
            version, properties = components.stored_version(ctx, name, version, properties)
        path = f"{family}/{name}/versions/{version}"
        existing = ctx.store.get(version_kind(family), path)
        if existing is not None:
            _check_update(family, path, existing.body["properties"], properties)
        item, created = ctx.store.put(version_kind(family), path, {"properties": properties})
        created = created or (family == components.FAMILY and components.always_created(properties))
        query = f"?{request.url.query}" if request.url.query else ""
        location = {"Location": f"{ctx.base_url}{request.url.path}{query}"} if created else None  # as recorded
        return arm_json(_version(ctx, family, item), 201 if created else 200, location)

    def start_pending_upload(request: Request, name: str, version: str) -> JSONResponse:
        return arm_json(_pending_upload(ctx_of(request)))

    return {
        "get_container": get_container,
        "put_container": put_container,
        "list_containers": list_containers,
        "list_versions": list_versions,
        "get_version": get_version,
        "put_version": put_version,
        "start_pending_upload": start_pending_upload,
    }


def _check_update(family: str, path: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """What Azure refuses when a version is PUT again: a new path, or a changed environment."""
    path_field = _PATH_FIELDS.get(family)
    if path_field and old.get(path_field) and old.get(path_field) != new.get(path_field):
        raise BadRequest(f"properties.{path_field}: Asset paths cannot be updated ({path}).", code="UserError")
    if family in ("environments", components.FAMILY) and any(old.get(k) != new.get(k) for k in _CONTENT[family]):
        raise Conflict(
            f"{family.capitalize()[:-1]} version {path} already exists with different content; use a new version.",
            code="UserError",
        )


def _top(value: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise BadRequest(f"$top: {value!r} is not a non-negative integer.")
    return int(value)


def _container(ctx: EmulatorContext, family: str, name: str) -> dict[str, Any] | None:
    versions = ctx.store.list(version_kind(family), f"{family}/{name}/versions/")
    container = ctx.store.get(family, f"{family}/{name}")
    if not versions and container is None:
        return None
    numbers = [int(item.name) for item in versions if _NUMBER.fullmatch(item.name)]
    properties = {
        **(container.body["properties"] if container else {}),
        "latestVersion": versions[-1].name if versions else None,
        "nextVersion": str(max(numbers, default=0) + 1),
        "isArchived": False,
    }
    return {
        "id": ctx.arm_id(f"{family}/{name}"),
        "name": name,
        "type": f"Microsoft.MachineLearningServices/workspaces/{family}",
        "properties": properties,
    }


def _version(ctx: EmulatorContext, family: str, item: Resource) -> dict[str, Any]:
    body = arm_resource(ctx, item, f"{family}/versions")
    properties = {"tags": {}, "properties": {}, "isArchived": False, **body["properties"]}
    if family == "models" and not isinstance(properties.get("flavors"), dict):
        properties["flavors"] = {}
    if family == "environments":
        properties.setdefault("osType", "Linux")
    if family == components.FAMILY:
        properties = components.shown(properties)
    properties["provisioningState"] = "Succeeded"
    return {**body, "properties": properties}


def _code_hash(item: Resource) -> str | None:
    return (item.body["properties"].get("properties") or {}).get("hash_sha256")


def _pending_upload(ctx: EmulatorContext) -> dict[str, Any]:
    """A SAS for a fresh, empty container on every call (trap T6: a reused one makes the SDK skip uploads)."""
    container = f"azureml-upload-{uuid.uuid4().hex}"
    sas_url = ctx.storage.create_container_with_sas(container)
    return {
        "pendingUploadId": uuid.uuid4().hex,
        "pendingUploadType": "None",
        "blobReferenceForConsumption": {
            "blobUri": sas_url.split("?", 1)[0],
            "storageAccountArmId": _storage_account_id(ctx),
            "credential": {"credentialType": "SAS", "sasUri": sas_url},
        },
    }


def list_datastores(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    items = [_datastore(ctx, name) for name in ctx.datastores]
    if request.query_params.get("isDefault", "").lower() == "true":
        items = [item for item in items if item["properties"]["isDefault"]]
    return arm_json(page(items))


def get_datastore(request: Request, name: str) -> JSONResponse:
    return arm_json(_datastore(ctx_of(request), name))


def list_datastore_secrets(request: Request, name: str, body: JsonBody = None) -> JSONResponse:
    """The account key, or, when an expirable secret is asked for (azure-ai-ml >= 1.32 does), an account SAS
    for that many hours, as recorded (model/e2etests/test_model.pyTestModeltest_crud_file.json)."""
    ctx = ctx_of(request)
    _datastore(ctx, name)
    asked = body if isinstance(body, dict) else {}
    if asked.get("expirableSecret") is not True:
        return arm_json({"secretsType": "AccountKey", "key": ctx.storage.account_key})
    hours = asked.get("expireAfterHours")
    hours = hours if isinstance(hours, int) and not isinstance(hours, bool) and 0 < hours <= 24 * 7 else 1
    return arm_json({"secretsType": "Sas", "sasToken": "?" + _account_sas(ctx, hours)})


def _account_sas(ctx: EmulatorContext, hours: int) -> str:
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    return generate_account_sas(
        ctx.storage.account_name,
        ctx.storage.account_key,
        resource_types=ResourceTypes(container=True, object=True),
        permission=AccountSasPermissions(read=True, write=True, delete=True, list=True, create=True, update=True),
        expiry=datetime.now(UTC) + timedelta(hours=hours),
    )


def _storage_account_id(ctx: EmulatorContext) -> str:
    return (
        f"/subscriptions/{ctx.subscription_id}/resourceGroups/{ctx.resource_group}"
        f"/providers/Microsoft.Storage/storageAccounts/{ctx.storage.account_name}"
    )


def _datastore(ctx: EmulatorContext, name: str) -> dict[str, Any]:
    """Every datastore is a container of the one storage account (Azurite by default), AccountKey auth."""
    if name not in ctx.datastores:
        raise NotFound(f"Datastore {name} was not found in workspace {ctx.workspace_name}.")
    return {
        "id": ctx.arm_id(f"datastores/{name}"),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/datastores",
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": ctx.storage.account_name,
            "containerName": ctx.datastores[name],
            "endpoint": ctx.storage.endpoint_host,
            "protocol": ctx.storage.protocol,
            "credentials": {"credentialsType": "AccountKey"},
            "isDefault": name == "workspaceblobstore",
            "serviceDataAccessAuthIdentity": "None",
            "tags": {},
            "properties": {},
        },
    }
