"""The async hook's own rules: one shared session per connection and loop, its lifetime, its URLs, its TLS context.

Its requests (job GET and cancel, datastore GET and listSecrets) and how their HTTP statuses become errors are
left to the emulator, with its injected faults: tests/integration/operators/test_batch_scoring.py (the job
trigger) and tests/integration/blob_changes/test_datastore.py (datastores).
"""

from __future__ import annotations

import asyncio
import ssl

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks import azure_ml_async
from airflow_batchml.hooks.azure_ml_async import AzureMLAsyncHook, _ssl_context
from airflow_batchml_emulator.tls import ensure_certificate

TOKEN = "static-token-canary-5c1d"
WORKSPACE = "subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"


@pytest.fixture
def conn_id(azure_ml_conn):
    """A static-token connection: its credential is built without any lookup of the environment."""
    return azure_ml_conn(token=TOKEN)


async def test_settings_and_credential_need_async_with(conn_id):
    hook = AzureMLAsyncHook(conn_id)
    for reach in (lambda: hook.settings, lambda: hook.credential):
        with pytest.raises(RuntimeError, match="inside 'async with'"):
            reach()
    with pytest.raises(RuntimeError, match="inside 'async with'"):
        await hook.get_job_status("batchjob-1")


async def test_job_urls_are_under_the_connections_workspace(conn_id):
    async with AzureMLAsyncHook(conn_id) as hook:
        assert hook._job_url("batchjob-1") == f"https://management.azure.com/{WORKSPACE}/jobs/batchjob-1"


@pytest.mark.parametrize(
    ("extras", "base"),
    [
        ({"cloud": "AzureChinaCloud"}, "https://management.chinacloudapi.cn"),
        ({"resource_manager_url": "https://127.0.0.1:8443/"}, "https://127.0.0.1:8443"),
    ],
    ids=["sovereign-cloud", "custom-resource-manager"],
)
async def test_workspace_urls_follow_the_connections_resource_manager(azure_ml_conn, extras, base):
    async with AzureMLAsyncHook(azure_ml_conn(token=TOKEN, **extras)) as hook:
        assert hook._workspace_url("datastores/store") == f"{base}/{WORKSPACE}/datastores/store"


async def test_hooks_of_one_connection_share_a_session_closed_by_the_last_to_leave(conn_id):
    async with AzureMLAsyncHook(conn_id) as first:
        shared = first._shared
        async with AzureMLAsyncHook(conn_id) as second:
            assert second._shared is shared and shared.users == 2
            assert second.credential is first.credential
        assert not shared.session.closed and shared.users == 1
    assert shared.session.closed
    assert azure_ml_async._SHARED == {}


async def test_hooks_of_other_connections_get_their_own_session(azure_ml_conn, conn_id):
    other = azure_ml_conn("other_workspace", token=TOKEN, workspace_name="ws-2")
    async with AzureMLAsyncHook(conn_id) as first, AzureMLAsyncHook(other) as second:
        assert first._shared is not second._shared
        assert (first.settings.workspace_name, second.settings.workspace_name) == ("ws-1", "ws-2")


async def test_hooks_entering_at_once_end_up_with_one_shared_session(conn_id):
    hooks = [AzureMLAsyncHook(conn_id) for _ in range(3)]
    await asyncio.gather(*(hook.__aenter__() for hook in hooks))
    shared = hooks[0]._shared
    assert all(hook._shared is shared for hook in hooks) and shared.users == 3
    assert len(azure_ml_async._SHARED) == 1
    for hook in hooks:
        await hook.__aexit__(None, None, None)
    assert shared.session.closed and azure_ml_async._SHARED == {}


async def test_leaving_twice_is_harmless(conn_id):
    hook = AzureMLAsyncHook(conn_id)
    async with hook:
        pass
    await hook.__aexit__(None, None, None)
    assert azure_ml_async._SHARED == {}


async def test_a_bad_connection_fails_on_entry_naming_the_field_and_leaves_nothing_open(azure_ml_conn):
    conn_id = azure_ml_conn(token=TOKEN, workspace_name="")
    with pytest.raises(AzureMLConfigurationError) as err:
        async with AzureMLAsyncHook(conn_id):
            pass
    assert err.value.field == "connection.workspace_name"
    assert azure_ml_async._SHARED == {}


def test_tls_uses_the_default_trust_unless_the_connection_names_a_ca_bundle(tmp_path):
    ca_bundle, _key = ensure_certificate(tmp_path)  # the emulator's self-signed certificate, as users trust it
    assert _ssl_context(None) is True
    context = _ssl_context(str(ca_bundle))
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    (trusted,) = context.get_ca_certs()  # that certificate only, not the system's
    assert trusted["subject"] == trusted["issuer"]
    assert _ssl_context(str(ca_bundle)) is context  # loaded once per bundle
