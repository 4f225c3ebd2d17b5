"""The batch engine reading code, model and inputs from, and writing its output to, a real Azurite.

Azurite is the session's (tests/support/stack.py), started on a free port and stopped by pid.
"""

from __future__ import annotations

import threading

import pytest
from azure.storage.blob import BlobServiceClient

from airflow_batchml_emulator.engine import BatchEngine, BatchJobSpec, JobStatus

pytestmark = pytest.mark.integration

DATASTORES = {"workspaceblobstore": "azureml-blobstore", "inputs": "landing"}
DEADLINE = 30

SCRIPT = """
import os
def init():
    global label
    label = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.txt")).read().strip()
def run(mini_batch):
    return [f"{os.path.basename(p)} {label} {open(p).read()}" for p in mini_batch]
"""


@pytest.fixture(scope="module")
def connection_string(azurite) -> str:
    return azurite


@pytest.fixture(scope="module")
def blobs(connection_string) -> BlobServiceClient:
    """The account with code, model and input files uploaded the way the emulator's server would."""
    service = BlobServiceClient.from_connection_string(connection_string)
    store = service.get_container_client("azureml-blobstore")
    if not store.exists():
        store.create_container()
    store.upload_blob("code/batch/score.py", SCRIPT)
    store.upload_blob("models/clf/1/model.txt", "clf-v1")
    landing = service.create_container("landing")
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        landing.upload_blob(f"day1/{name}", name.upper())
    landing.upload_blob("single/z.txt", "Z")
    return service


class Recorder:
    """Statuses of the jobs of one test, in order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.statuses: list[tuple[str, str, dict | None]] = []

    def set_status(self, job_name: str, status: str, error: dict | None = None) -> None:
        with self._cond:
            self.statuses.append((job_name, status, error))
            self._cond.notify_all()

    def set_progress(self, job_name: str, done: int, total: int, failed_files: int) -> None:
        """Progress is covered by the local-file tests."""

    def append_log(self, job_name: str, text: str) -> None:
        """The log is covered by the local-file tests."""

    def wait_terminal(self, job_name: str) -> tuple[str, dict | None]:
        def ended() -> bool:
            return any(n == job_name and s in JobStatus.TERMINAL_STATUSES for n, s, _ in self.statuses)

        with self._cond:
            assert self._cond.wait_for(ended, timeout=DEADLINE), self.statuses
            return next((s, e) for n, s, e in reversed(self.statuses) if n == job_name)


@pytest.fixture
def engine_and_recorder(connection_string, tmp_path):
    recorder = Recorder()
    engine = BatchEngine(recorder, connection_string, DATASTORES, tmp_path / "work")
    yield engine, recorder
    engine.shutdown()


def _spec(name: str, inputs: list[dict[str, str]], **settings) -> BatchJobSpec:
    return BatchJobSpec(
        name=name,
        code_uri="azureml://datastores/workspaceblobstore/paths/code/batch",
        scoring_script="score.py",
        model_uri="azureml://subscriptions/s/resourceGroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/models/clf/1/model.txt",
        inputs=inputs,
        mini_batch_size=2,
        **settings,
    )


def test_scores_datastore_and_url_inputs_into_the_default_output(engine_and_recorder, blobs):
    engine, recorder = engine_and_recorder
    url = f"{blobs.url.rstrip('/')}/landing/single/z.txt"
    inputs = [
        {"type": "uri_folder", "uri": "azureml://datastores/inputs/paths/day1/"},
        {"type": "uri_file", "uri": url},
    ]

    engine.submit(_spec("azurite-job", inputs))

    assert recorder.wait_terminal("azurite-job") == (JobStatus.COMPLETED, None)
    output = blobs.get_blob_client("azureml-blobstore", "azureml/azurite-job/score/predictions.csv")
    assert output.download_blob().readall().decode().splitlines() == [
        "a.txt clf-v1 A.TXT",
        "b.txt clf-v1 B.TXT",
        "c.txt clf-v1 SUB/C.TXT",
        "z.txt clf-v1 Z",
    ]


def test_an_output_blob_that_exists_fails_the_job(engine_and_recorder, blobs):
    engine, recorder = engine_and_recorder
    blobs.get_container_client("azureml-blobstore").upload_blob("results/taken.csv", "old")
    inputs = [{"type": "uri_folder", "uri": "azureml://datastores/inputs/paths/day1"}]

    engine.submit(
        _spec("taken-job", inputs, output_uri="azureml://datastores/workspaceblobstore/paths/results/taken.csv")
    )

    status, error = recorder.wait_terminal("taken-job")
    assert status == JobStatus.FAILED
    assert error["code"] == "OutputAlreadyExists"


def test_a_missing_blob_folder_fails_the_job(engine_and_recorder, blobs):
    engine, recorder = engine_and_recorder

    engine.submit(_spec("missing-job", [{"type": "uri_folder", "uri": "azureml://datastores/inputs/paths/day9"}]))

    status, error = recorder.wait_terminal("missing-job")
    assert status == JobStatus.FAILED
    assert error["code"] == "InputNotFound"
    assert "landing/day9" in error["message"]


def test_a_blob_name_too_long_for_a_local_file_fails_the_job_as_a_user_error(engine_and_recorder, blobs):
    engine, recorder = engine_and_recorder
    blobs.get_container_client("landing").upload_blob(f"long/{'n' * 900}.txt", "N", overwrite=True)
    uri = "azureml://datastores/inputs/paths/long/"

    engine.submit(_spec("long-name-job", [{"type": "uri_folder", "uri": uri}]))

    status, error = recorder.wait_terminal("long-name-job")
    assert status == JobStatus.FAILED
    assert error["code"] == "InputUnreadable"
    assert uri in error["message"]
    assert "too long for a local file: nnnn" in error["message"]
