"""Datastore files: the content hash that names an upload, and what is refused before the WASB hook is reached.

Uploads and reads through WASB run against Azurite in tests/integration/hooks/test_azure_ml_hook.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from airflow_batchml.hooks.datastore_files import DatastoreFiles, content_hash

FILES = DatastoreFiles("wasb_default", "workspaceblobstore", "azureml-blobstore-1")


def folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_identical_folders_hash_alike_wherever_they_are_and_whatever_their_name(tmp_path):
    model = folder(tmp_path / "model", {"weights.txt": b"w1", "config/a.json": b"{}"})
    copy = shutil.copytree(model, tmp_path / "elsewhere" / "model-copy")
    assert content_hash(model) == content_hash(copy)
    assert len(content_hash(model)) == 64


@pytest.mark.parametrize(
    "changed",
    [
        {"weights.txt": b"w2", "config/a.json": b"{}"},
        {"weights.bin": b"w1", "config/a.json": b"{}"},
        {"weights.txt": b"w1"},
    ],
    ids=["content", "file-name", "file-removed"],
)
def test_a_changed_content_name_or_file_list_changes_the_hash(tmp_path, changed):
    original = folder(tmp_path / "a", {"weights.txt": b"w1", "config/a.json": b"{}"})
    assert content_hash(folder(tmp_path / "b", changed)) != content_hash(original)


def test_a_file_hashes_by_its_own_name_and_content(tmp_path):
    file = folder(tmp_path / "one", {"score.py": b"print(1)"}) / "score.py"
    same = folder(tmp_path / "two", {"score.py": b"print(1)"}) / "score.py"
    renamed = folder(tmp_path / "three", {"main.py": b"print(1)"}) / "main.py"
    assert content_hash(file) == content_hash(same) != content_hash(renamed)


def test_empty_folders_do_not_count(tmp_path):
    plain = folder(tmp_path / "a", {"x.txt": b"x"})
    with_empty = folder(tmp_path / "b", {"x.txt": b"x"})
    (with_empty / "empty").mkdir()
    assert content_hash(plain) == content_hash(with_empty)


def test_folders_with_different_files_never_hash_alike(tmp_path):
    one = folder(tmp_path / "one" / "src", {"a": b"xb\0y"})
    two = folder(tmp_path / "two" / "src", {"a": b"x", "b": b"y"})
    assert content_hash(one) != content_hash(two)


def test_uploading_a_missing_path_is_refused_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="local path '.*nowhere' does not exist"):
        FILES.upload(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "uri",
    [
        "azureml://datastores/otherstore/paths/results/predictions.csv",
        "https://account.blob.core.windows.net/azureml-blobstore-1/results/predictions.csv",
        "azureml://datastores/workspaceblobstore/results/predictions.csv",
    ],
    ids=["other-datastore", "url", "no-paths-segment"],
)
def test_reading_what_is_not_a_file_of_this_datastore_is_refused(uri):
    with pytest.raises(ValueError) as err:
        FILES.read(uri)
    assert str(err.value) == f"{uri!r} is not a file of datastore workspaceblobstore"
