"""How the engine resolves job URIs (no network: resolving never calls the storage account)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_batchml_emulator.scoring.spec import JobError
from airflow_batchml_emulator.storage import BlobLocation, JobStorage, LocalLocation, split_output

CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


@pytest.fixture
def storage() -> JobStorage:
    return JobStorage(CONNECTION, {"workspaceblobstore": "azureml-blobstore", "landing": "raw"})


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("azureml://datastores/landing/paths/day1/", BlobLocation("raw", "day1/")),
        ("azureml://datastores/workspaceblobstore/paths/a%20b/c.csv", BlobLocation("azureml-blobstore", "a b/c.csv")),
        (
            "azureml://subscriptions/sub/resourcegroups/rg/workspaces/ws/datastores/landing/paths/x/y.csv",
            BlobLocation("raw", "x/y.csv"),
        ),
        ("http://127.0.0.1:10000/devstoreaccount1/raw/day1/a.csv", BlobLocation("raw", "day1/a.csv")),
        ("http://127.0.0.1:10000/devstoreaccount1/raw", BlobLocation("raw", "")),
        ("http://localhost:10000/devstoreaccount1/raw/a.csv", BlobLocation("raw", "a.csv")),
        ("/data/in", LocalLocation(Path("/data/in"))),
        ("file:///data/in", LocalLocation(Path("/data/in"))),
    ],
)
def test_resolves_datastore_uris_blob_urls_and_local_paths(storage, uri, expected):
    assert storage.resolve(uri) == expected


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("azureml://datastores/nope/paths/x", "unknown datastore 'nope'"),
        ("https://other.blob.core.windows.net/raw/a.csv", "not in the configured storage account"),
        ("http://127.0.0.1:10001/devstoreaccount1/raw/a.csv", "not in the configured storage account"),
        ("azureml:my-data:1", "data assets must be resolved"),
    ],
)
def test_rejects_what_it_cannot_read(storage, uri, words):
    with pytest.raises(JobError, match=words):
        storage.resolve(uri)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("azureml://datastores/ws/paths/out/", ("azureml://datastores/ws/paths/out/", "predictions.csv")),
        ("azureml://datastores/ws/paths/out", ("azureml://datastores/ws/paths/out", "predictions.csv")),
        ("azureml://datastores/ws/paths/out/scores.csv", ("azureml://datastores/ws/paths/out/", "scores.csv")),
        ("/tmp/out/run.v2/", ("/tmp/out/run.v2/", "predictions.csv")),
    ],
)
def test_an_output_path_with_a_file_name_is_the_output_file(uri, expected):
    assert split_output(uri, "predictions.csv") == expected


def test_child_locations_join_paths():
    assert BlobLocation("c", "out/").child("p.csv") == BlobLocation("c", "out/p.csv")
    assert BlobLocation("c", "").child("p.csv") == BlobLocation("c", "p.csv")
    assert LocalLocation(Path("/o")).child("p.csv") == LocalLocation(Path("/o/p.csv"))


def test_local_inputs_are_used_in_place_and_missing_ones_fail(storage, tmp_path):
    (tmp_path / "in").mkdir()

    assert storage.fetch(LocalLocation(tmp_path / "in"), tmp_path / "copy", "uri_folder") == tmp_path / "in"
    with pytest.raises(JobError, match="does not exist") as raised:
        storage.fetch(LocalLocation(tmp_path / "gone"), tmp_path / "copy", "uri_folder")
    assert raised.value.code == "InputNotFound"
