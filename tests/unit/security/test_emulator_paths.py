"""The emulator engine's storage paths never leave their folder, whatever a job or a blob listing names."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_batchml_emulator.scoring.spec import BatchJobSpec, ErrorCode, JobError
from airflow_batchml_emulator.storage import BlobLocation, JobStorage, LocalLocation

CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
SEGMENTS = st.sampled_from(["..", ".", "", "a", "b.csv", "%2e%2e", "..\\x", "/", "~", "ü ñ", "x" * 40])
PATHS = st.lists(SEGMENTS, min_size=1, max_size=6).map("/".join) | st.text(max_size=60)


def storage() -> JobStorage:
    return JobStorage(CONNECTION, {"workspaceblobstore": "azureml-blobstore"})


@pytest.mark.parametrize(
    "uri",
    [
        "azureml://datastores/workspaceblobstore/paths/in/../../secret/",
        "azureml://datastores/workspaceblobstore/paths/in/%2E%2E/x",
        "http://127.0.0.1:10000/devstoreaccount1/azureml-blobstore/in/../x",
        "/srv/jobs/../etc",
        "file:///srv/../etc/passwd",
    ],
)
def test_uris_with_a_parent_segment_are_refused(uri):
    with pytest.raises(JobError) as err:
        storage().resolve(uri)
    assert err.value.code == ErrorCode.INVALID_SPEC


@pytest.mark.parametrize("name", ["../x.csv", "a/../../x", "/etc/passwd", "..\\x", "\\x"])
def test_children_may_not_leave_their_folder(name):
    for folder in (BlobLocation("c", "out/"), LocalLocation(Path("/srv/out"))):
        with pytest.raises(JobError, match="leaves its folder"):
            folder.child(name)


@pytest.mark.parametrize("name", ["../p.csv", "/tmp/p.csv", "sub/p.csv", "..", ".", "", "a\\b.csv"])
def test_the_output_file_name_is_a_plain_name(name):
    with pytest.raises(JobError, match="output_file_name"):
        BatchJobSpec(name="j1", code_uri="/c", scoring_script="s.py", inputs=[], output_file_name=name)


def test_a_listed_blob_that_would_land_outside_the_job_folder_fails_the_job(tmp_path):
    listing = [SimpleNamespace(name=name, size=1, metadata={}) for name in ("in/a.png", "in/../../../escape.png")]
    container = SimpleNamespace(exists=lambda: True, list_blobs=lambda **kwargs: listing)
    job_storage = storage()
    job_storage._client = SimpleNamespace(get_container_client=lambda name: container)
    with pytest.raises(JobError, match="leaves its folder"):
        job_storage.fetch(BlobLocation("azureml-blobstore", "in"), tmp_path / "inputs", "uri_folder")
    assert not list(tmp_path.rglob("*.png"))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=PATHS)
def test_a_local_child_is_refused_or_stays_inside(tmp_path, name):
    root = tmp_path / "out"
    try:
        child = LocalLocation(root).child(name)
    except JobError:
        return
    assert child.path.resolve().is_relative_to(root.resolve())


@settings(deadline=None)
@given(path=PATHS)
def test_a_datastore_path_is_refused_or_stays_in_its_container(path):
    try:
        location = storage().resolve(f"azureml://datastores/workspaceblobstore/paths/{path}")
    except JobError as err:
        assert err.code == ErrorCode.INVALID_SPEC
        return
    assert location.container == "azureml-blobstore"
    assert ".." not in location.path.split("/")
