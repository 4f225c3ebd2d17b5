"""Each connection shape selects its azure-identity credential; building one makes no network call."""

from __future__ import annotations

import pytest
from azure import identity
from azure.identity import aio

from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.hooks.credentials import (
    AsyncStaticTokenCredential,
    StaticTokenCredential,
    credential_kind,
    get_async_credential,
    get_credential,
)

TOKEN = "static-token-canary-1234"


def _cert(tmp_path):
    """A real self-signed PEM certificate + key, so CertificateCredential can load it."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "sp.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return str(path)


CASES = {
    "static_token": ({"token": TOKEN}, StaticTokenCredential, AsyncStaticTokenCredential),
    "client_secret": (
        {"login": "cid", "password": "secret-xyz", "tenant_id": "tid"},
        identity.ClientSecretCredential,
        aio.ClientSecretCredential,
    ),
    "managed_identity": (
        {"managed_identity_client_id": "mi-1"},
        identity.ManagedIdentityCredential,
        aio.ManagedIdentityCredential,
    ),
    "default": ({}, identity.DefaultAzureCredential, aio.DefaultAzureCredential),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_connection_selects_credential(azure_ml_conn, kind):
    fields, sync_type, async_type = CASES[kind]
    settings = AzureMLHook(azure_ml_conn_id=azure_ml_conn(**fields)).settings
    assert credential_kind(settings) == kind
    assert type(get_credential(settings)) is sync_type
    assert type(get_async_credential(settings)) is async_type


def test_certificate_credential(azure_ml_conn, tmp_path):
    conn_id = azure_ml_conn(login="cid", tenant_id="tid", client_certificate_path=_cert(tmp_path))
    settings = AzureMLHook(azure_ml_conn_id=conn_id).settings
    assert credential_kind(settings) == "client_certificate"
    assert isinstance(get_credential(settings), identity.CertificateCredential)
    assert isinstance(get_async_credential(settings), aio.CertificateCredential)


def test_workload_identity_credential(azure_ml_conn, tmp_path, monkeypatch):
    token_file = tmp_path / "federated-token"
    token_file.write_text("jwt")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    conn_id = azure_ml_conn(login="cid", workload_identity_tenant_id="tid")
    settings = AzureMLHook(azure_ml_conn_id=conn_id).settings
    assert credential_kind(settings) == "workload_identity"
    assert isinstance(get_credential(settings), identity.WorkloadIdentityCredential)
    assert isinstance(get_async_credential(settings), aio.WorkloadIdentityCredential)


@pytest.mark.parametrize(
    ("cloud", "authority"),
    [
        ("AzureCloud", "login.microsoftonline.com"),
        ("AzureChinaCloud", "login.chinacloudapi.cn"),
        ("AzureUSGovernment", "login.microsoftonline.us"),
    ],
)
def test_sovereign_clouds_use_their_authority(azure_ml_conn, cloud, authority):
    conn_id = azure_ml_conn(login="cid", password="secret-xyz", tenant_id="tid", cloud=cloud)
    credential = get_credential(AzureMLHook(azure_ml_conn_id=conn_id).settings)
    assert credential._authority == f"https://{authority}"


def test_static_token_serves_every_scope_and_hides_itself():
    credential = StaticTokenCredential(TOKEN)
    assert credential.get_token("https://management.azure.com/.default").token == TOKEN
    assert credential.get_token_info("https://ml.azure.com/.default").token == TOKEN
    assert TOKEN not in repr(credential)


async def test_async_static_token():
    async with AsyncStaticTokenCredential(TOKEN) as credential:
        assert (await credential.get_token("scope")).token == TOKEN
        assert (await credential.get_token_info("scope")).token == TOKEN
