"""OpenLineage dataset names for storage URIs, and the Asset of an output folder (no workspace needed).

Datastore resolution through the workspace is tested against the emulator
(``tests/integration/dags/test_lineage_dag.py``).
"""

from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.lineage import (
    LineageDataset,
    blob_dataset,
    data_asset,
    datastore_path,
    datastore_storage,
    output_asset,
    url_dataset,
)

ARM_WS = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://acct.blob.core.windows.net/data/in/one.png?sv=2024&sig=SECRET",
            LineageDataset("wasbs://data@acct.dfs.core.windows.net", "in/one.png"),
        ),
        (
            "https://Acct.dfs.core.windows.net/lake/raw/",
            LineageDataset("abfss://lake@acct.dfs.core.windows.net", "raw"),
        ),
        (
            "https://acct.blob.core.chinacloudapi.cn/data/x.csv",
            LineageDataset("wasbs://data@acct.dfs.core.chinacloudapi.cn", "x.csv"),
        ),
        ("https://acct.blob.core.windows.net/data", LineageDataset("wasbs://data@acct.dfs.core.windows.net", "/")),
        (
            "https://acct.blob.core.windows.net/data/a%2541.txt",  # decoded once: the blob is a%41.txt
            LineageDataset("wasbs://data@acct.dfs.core.windows.net", "a%41.txt"),
        ),
        (
            "http://127.0.0.1:10000/devstoreaccount1/landing/in/x.png",
            LineageDataset("wasbs://landing@devstoreaccount1.dfs.core.azureml.test", "in/x.png"),
        ),
        ("https://user:pw@example.org/files/a.csv?token=1", LineageDataset("https://example.org", "/files/a.csv")),
    ],
    ids=["blob-with-sas", "adls-gen2", "china-cloud", "whole-container", "percent-encoded", "azurite", "other-host"],
)
def test_urls_are_named_by_the_openlineage_convention_without_query_or_credentials(url, expected):
    assert url_dataset(url, storage_endpoint="core.azureml.test") == expected


def test_a_path_style_url_without_a_storage_endpoint_is_named_with_its_host_and_port():
    dataset = url_dataset("http://localhost:10000/devstoreaccount1/landing/x.png")
    assert dataset == LineageDataset("wasbs://landing@devstoreaccount1.dfs.localhost:10000", "x.png")


def test_names_match_the_openlineage_clients_own_naming_helpers():
    from openlineage.client.naming import dataset as naming

    for ours, theirs in [
        (
            blob_dataset("wasbs", "acct", "data", "in/x.png", "core.windows.net"),
            naming.WASBS("data", "acct", "in/x.png"),
        ),
        (blob_dataset("abfss", "acct", "lake", "raw/y", "core.windows.net"), naming.ABFSS("lake", "acct", "raw/y")),
    ]:
        assert (ours.namespace, ours.name) == (theirs.get_namespace(), theirs.get_name())


def datastore_body(kind: str, **properties: str) -> dict:
    """A datastore GET body as the REST spec shapes it (workspaces/datastores, 2024-07-01-preview)."""
    return {"properties": {"datastoreType": kind, "credentials": {"credentialsType": "AccountKey"}, **properties}}


@pytest.mark.parametrize(
    ("body", "storage_endpoint", "expected"),
    [
        (
            datastore_body("AzureBlob", accountName="acct", containerName="data", endpoint="core.windows.net"),
            None,
            LineageDataset("wasbs://data@acct.dfs.core.windows.net", "in/x.png"),
        ),
        (
            datastore_body(
                "AzureDataLakeGen2", accountName="lake1", filesystem="raw", endpoint="core.chinacloudapi.cn"
            ),
            None,
            LineageDataset("abfss://raw@lake1.dfs.core.chinacloudapi.cn", "in/x.png"),
        ),
        (  # the local stack: the connection's storage_endpoint wins over the datastore's, as for the watchers
            datastore_body("AzureBlob", accountName="devstoreaccount1", containerName="c", endpoint="127.0.0.1:1"),
            "core.azureml.test",
            LineageDataset("wasbs://c@devstoreaccount1.dfs.core.azureml.test", "in/x.png"),
        ),
    ],
    ids=["blob", "adls-gen2-china", "local-stack"],
)
def test_a_datastore_is_named_by_the_storage_behind_it(body, storage_endpoint, expected):
    assert datastore_storage("store", body, storage_endpoint).dataset("/in/x.png") == expected


def test_a_datastore_that_holds_no_blobs_is_refused_naming_it():
    with pytest.raises(AzureMLConfigurationError) as err:
        datastore_storage("share", datastore_body("AzureFile", accountName="acct", fileShareName="s"), None)
    assert err.value.field == "datastore" and "'share'" in str(err.value)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("azureml://datastores/workspaceblobstore/paths/digits/in/", ("workspaceblobstore", "digits/in/")),
        ("azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/d/paths/x", ("d", "x")),
        (f"{ARM_WS}/datastores/d/paths/y/z.csv", ("d", "y/z.csv")),
        ("azureml:digits:1", None),
        ("https://acct.blob.core.windows.net/c/p", None),
    ],
)
def test_datastore_paths_in_every_form(uri, expected):
    assert datastore_path(uri) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("azureml:digits:3", ("digits", "3")),
        ("azureml:digits@latest", ("digits", None)),
        (f"{ARM_WS}/data/digits/versions/2", ("digits", "2")),
        ("azureml://locations/westeurope/workspaces/1234/data/digits/versions/5", ("digits", "5")),
        ("azureml://datastores/workspaceblobstore/paths/x", None),
    ],
)
def test_data_asset_references_in_every_form(uri, expected):
    assert data_asset(uri) == expected


def test_the_output_asset_is_the_datastore_uri_the_task_writes_to():
    asset = output_asset("azureml://datastores/workspaceblobstore/paths/digits/predictions/latest/", name="preds")
    assert (asset.name, asset.uri) == (
        "preds",
        "azureml://datastores/workspaceblobstore/paths/digits/predictions/latest",
    )
    by_arm_id = output_asset(f"{ARM_WS}/datastores/d/paths/out/")
    assert by_arm_id.uri == "azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/d/paths/out"


@pytest.mark.parametrize(
    "path",
    ["https://acct.blob.core.windows.net/c/out/", "azureml://datastores/d/paths/a/../../b/"],
    ids=["url", "dotdot"],
)
def test_an_output_asset_that_no_job_could_write_is_refused_at_parse_time(path):
    with pytest.raises(AzureMLConfigurationError) as err:
        output_asset(path)
    assert err.value.field == "output_path"
