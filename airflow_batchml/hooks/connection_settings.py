"""The ``azure_ml`` Airflow connection, parsed and checked before anything talks to Azure.

Every field is read from the connection's extras (plain keys, or the ``extra__azure_ml__`` form older
UIs wrote); the service principal id and secret may also sit in login/password. Secrets are kept out
of ``repr`` so a logged settings object leaks nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.clouds import CLOUDS

if TYPE_CHECKING:
    from airflow.sdk import Connection

CONN_TYPE = "azure_ml"
_REQUIRED = ("subscription_id", "resource_group", "workspace_name")
_PREFIX = f"extra__{CONN_TYPE}__"
# Spellings the Microsoft Azure provider's connections use, accepted so a copied extra works.
_ALIASES = {"tenantId": "tenant_id", "subscriptionId": "subscription_id"}
# Storage hosts are ``https://{account}.blob.{suffix}``: the suffix is dot-separated DNS labels.
_STORAGE_SUFFIX = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}", re.IGNORECASE)


@dataclass(frozen=True)
class AzureMLConnectionSettings:
    """What the hook needs from an ``azure_ml`` connection, validated."""

    subscription_id: str
    resource_group: str
    workspace_name: str
    cloud: str = "AzureCloud"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_certificate_path: str | None = None
    client_certificate_password: str | None = field(default=None, repr=False)
    managed_identity_client_id: str | None = None
    workload_identity_tenant_id: str | None = None
    token: str | None = field(default=None, repr=False)
    resource_manager_url: str | None = None
    ca_bundle: str | None = None
    storage_endpoint: str | None = None
    wasb_conn_id: str | None = None

    @classmethod
    def from_connection(cls, conn: Connection) -> AzureMLConnectionSettings:
        """Build settings from an Airflow connection; raise AzureMLConfigurationError naming the field."""
        extras = _plain_extras(conn.extra_dejson)
        values: dict[str, Any] = {name: extras.get(name) or None for name in _field_names()}
        values["client_id"] = conn.login or values["client_id"]
        values["client_secret"] = conn.password or values["client_secret"]
        values["cloud"] = values["cloud"] or "AzureCloud"
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def resource_manager(self) -> str:
        """The resource-manager base URL without a trailing slash: the cloud's, or the custom one."""
        return (self.resource_manager_url or CLOUDS[self.cloud].resource_manager).rstrip("/")

    def validate(self) -> None:
        """Check the combination of fields; every message names the field and what is accepted."""
        for name in _REQUIRED:
            if not getattr(self, name):
                raise AzureMLConfigurationError(f"connection.{name}", "is required (set it in the connection's extras)")
        if self.cloud not in CLOUDS:
            raise AzureMLConfigurationError("connection.cloud", f"{self.cloud!r} is not one of {', '.join(CLOUDS)}")
        if self.resource_manager_url:
            _check_https_url(self.resource_manager_url, "connection.resource_manager_url")
        self._validate_storage_endpoint()
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise AzureMLConfigurationError("connection.ca_bundle", f"file {self.ca_bundle!r} does not exist")
        if (self.client_secret or self.client_certificate_path) and not (self.client_id and self.tenant_id):
            raise AzureMLConfigurationError(
                "connection.tenant_id",
                "a service principal secret or certificate needs both tenant_id and client_id (login)",
            )
        if self.client_certificate_path and not os.path.isfile(self.client_certificate_path):
            raise AzureMLConfigurationError(
                "connection.client_certificate_path", f"file {self.client_certificate_path!r} does not exist"
            )

    def _validate_storage_endpoint(self) -> None:
        """A storage host suffix (``core.windows.net``, say), and only for a custom resource manager: the
        named clouds bring their own."""
        if not self.storage_endpoint:
            return
        if not self.resource_manager_url:
            raise AzureMLConfigurationError(
                "connection.storage_endpoint", "applies to a custom resource_manager_url only; set that too"
            )
        if not _STORAGE_SUFFIX.fullmatch(self.storage_endpoint):
            raise AzureMLConfigurationError(
                "connection.storage_endpoint",
                f"{self.storage_endpoint!r} is not a host suffix such as core.windows.net (no scheme, path or port)",
            )


def _check_https_url(url: str, field: str) -> None:
    """An https URL with a host and, if any, a numeric port (a bad one would fail later as a raw ValueError)."""
    try:
        parts = urlparse(url)
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError as err:
        raise AzureMLConfigurationError(field, f"must be an https:// URL ({err})") from err
    if parts.scheme != "https" or not parts.hostname:
        raise AzureMLConfigurationError(field, "must be an https:// URL with a host")


def _field_names() -> list[str]:
    return [name for name in AzureMLConnectionSettings.__dataclass_fields__]


def _plain_extras(extras: dict[str, Any]) -> dict[str, Any]:
    """Accept both ``tenant_id`` and the older ``extra__azure_ml__tenant_id`` spelling."""
    plain = {}
    for key, value in extras.items():
        name = key.removeprefix(_PREFIX)
        plain[_ALIASES.get(name, name)] = value
    unknown = sorted(set(plain) - set(_field_names()))
    if unknown:
        raise AzureMLConfigurationError(
            f"connection.extra.{unknown[0]}", f"is not a known field; accepted: {', '.join(_field_names())}"
        )
    return plain
