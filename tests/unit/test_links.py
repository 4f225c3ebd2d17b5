"""The studio link of a job: its URL per cloud, the XCom record operators push, and what the extra link reads."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import XCom

from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.links import JOB_XCOM_KEY, AzureMLJobLink, persist_job_link, studio_job_url

WSID = "/subscriptions/sub-1/resourcegroups/rg-1/workspaces/ws-1"


def settings_of(conn_id):
    return AzureMLHook(azure_ml_conn_id=conn_id).settings


@pytest.mark.parametrize(
    ("cloud", "studio"),
    [
        ("AzureCloud", "https://ml.azure.com"),
        ("AzureChinaCloud", "https://studio.ml.azure.cn"),
        ("AzureUSGovernment", "https://ml.azure.us"),
    ],
)
def test_a_named_cloud_links_to_its_studio_run_page(azure_ml_conn, cloud, studio):
    settings = settings_of(azure_ml_conn(cloud=cloud))
    assert studio_job_url(settings, "batchjob-1") == f"{studio}/runs/batchjob-1?wsid={WSID}"


def test_the_default_cloud_is_azure_public(azure_ml_conn):
    assert studio_job_url(settings_of(azure_ml_conn()), "j1") == f"https://ml.azure.com/runs/j1?wsid={WSID}"


@pytest.mark.parametrize("url", ["https://127.0.0.1:8443", "https://127.0.0.1:8443/"])
def test_a_custom_cloud_has_no_studio_so_the_link_names_the_job_under_its_resource_manager(azure_ml_conn, url):
    settings = settings_of(azure_ml_conn(resource_manager_url=url))
    assert studio_job_url(settings, "j1") == f"https://127.0.0.1:8443{WSID}/jobs/j1"


def test_the_pushed_record_keeps_the_extras_but_the_job_and_url_win(context):
    persist_job_link(context, "j1", "https://ml.azure.com/runs/j1", {"endpoint": "digits", "job_name": "stale"})
    assert context["ti"].xcoms == {
        JOB_XCOM_KEY: {"endpoint": "digits", "job_name": "j1", "studio_url": "https://ml.azure.com/runs/j1"}
    }


@pytest.fixture
def stored_xcom(monkeypatch):
    """What ``XCom.get_value`` answers; a stand-in because reading XCom needs a running task's supervisor."""
    stored: dict[tuple[object, str], object] = {}
    monkeypatch.setattr(XCom, "get_value", lambda *, ti_key, key: stored.get((ti_key, key)))
    return stored


def test_the_link_is_the_studio_url_the_task_pushed(stored_xcom):
    stored_xcom[("ti-1", JOB_XCOM_KEY)] = {"job_name": "j1", "studio_url": "https://ml.azure.com/runs/j1"}
    assert AzureMLJobLink().get_link(None, ti_key="ti-1") == "https://ml.azure.com/runs/j1"
    assert AzureMLJobLink().get_link(None, ti_key="ti-2") == ""


@pytest.mark.parametrize("value", [None, {}, {"job_name": "j1"}, "https://ml.azure.com/runs/j1", ["j1"]])
def test_a_task_without_a_job_record_has_an_empty_link(stored_xcom, value):
    stored_xcom[("ti-1", JOB_XCOM_KEY)] = value
    assert AzureMLJobLink().get_link(None, ti_key="ti-1") == ""


def test_the_link_is_named_for_the_task_page():
    assert AzureMLJobLink.name == "Azure ML job"


def test_the_job_record_does_not_share_the_key_airflow_stores_the_link_under():
    """Airflow pushes ``get_link``'s answer under ``xcom_key`` when a task ends or defers: not over the record."""
    assert AzureMLJobLink().xcom_key != JOB_XCOM_KEY
