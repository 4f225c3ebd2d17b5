"""The queue endpoint and credential derived from a WASB connection's blob client."""

from __future__ import annotations

from types import SimpleNamespace

from airflow_batchml.hooks.blob_queue import queue_credential, queue_endpoint


def test_the_queue_endpoint_is_the_blob_endpoints_twin_with_its_sas_kept():
    assert queue_endpoint("https://acct.blob.core.windows.net/") == "https://acct.queue.core.windows.net/"
    assert queue_endpoint("https://acct.blob.core.chinacloudapi.cn/?sv=1&sig=x") == (
        "https://acct.queue.core.chinacloudapi.cn/?sv=1&sig=x"
    )


def test_a_blob_shared_key_becomes_a_name_key_mapping_and_other_credentials_pass_through():
    key = SimpleNamespace(account_name="acct", account_key="secret")
    assert queue_credential(key) == {"account_name": "acct", "account_key": "secret"}
    token = object()
    assert queue_credential(token) is token
    assert queue_credential(None) is None
