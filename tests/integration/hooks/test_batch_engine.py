"""The local batch engine driven through the plugin: AzureMLHook -> azure-ai-ml -> emulator -> engine -> Azurite.

One endpoint with several deployments, each running a tiny scoring script written here:

- ``probe`` returns a DataFrame row per file with the worker's pid, how often ``init()`` ran in it, the
  model files under ``AZUREML_MODEL_DIR`` and a deployment environment variable (logging at debug);
- ``trouble`` misbehaves on purpose, by input file name: ``fail`` raises, ``hang`` sleeps far beyond the
  timeout, ``short`` gives no row, ``...-once`` only on the first attempt (a marker file in ``MARKER_DIR``,
  a deployment environment variable); a hung ``run()`` writes its pid first so tests can see it killed;
- ``summary`` is ``probe`` with ``output_action: summary_only``; ``no-init`` lacks ``init()``.

Every wait is bounded (``wait_for_job`` has a deadline, polls check a condition); nothing asserts on time.
"""

from __future__ import annotations

import math
import os
import textwrap
import time
from pathlib import Path

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from tests.support.workspace import DATA, wait_for_job

pytestmark = pytest.mark.integration

ENDPOINT = "engine-batch"
DATASTORE = "azureml://datastores/workspaceblobstore/paths"
POLL_DEADLINE = 60.0

PROBE = """
    import logging
    import os

    import pandas as pd

    state = {"inits": 0}


    def init():
        state["inits"] += 1
        root = os.environ["AZUREML_MODEL_DIR"]
        files = [os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names]
        state["model_files"] = ";".join(sorted(files))
        with open(os.path.join(root, "model", "model.txt")) as handle:
            state["label"] = handle.read().strip()
        logging.debug("probe init in worker %d", os.getpid())


    def run(mini_batch):
        logging.info("probe scoring %d file(s)", len(mini_batch))
        return pd.DataFrame(
            {
                "file": [os.path.basename(path) for path in mini_batch],
                "pid": os.getpid(),
                "inits": state["inits"],
                "model_files": state["model_files"],
                "label": state["label"],
                "greeting": os.environ.get("PROBE_GREETING", "unset"),
            }
        )
"""

TROUBLE = """
    import logging
    import os
    import time
    from pathlib import Path

    MARKERS = Path(os.environ["MARKER_DIR"])


    def init():
        pass


    def first_attempt(name):
        marker = MARKERS / (name + ".tried")
        if marker.exists():
            return False
        marker.touch()
        return True


    def run(mini_batch):
        rows = []
        for path in mini_batch:
            name = os.path.basename(path)
            logging.info("trouble scoring %s", name)
            once = "once" in name
            if "hang" in name and (not once or first_attempt(name)):
                (MARKERS / (name + "." + str(os.getpid()) + ".pid")).touch()
                time.sleep(600)
            if "fail" in name and (not once or first_attempt(name)):
                raise RuntimeError("trouble with " + name)
            if "short" not in name:
                rows.append(name + " scored")
        return rows
"""

CONDA = """
    name: engine-env
    dependencies:
      - python=3.11
      - pip:
          - pandas
          - engine-test-package-not-installed==1.0
"""

NO_INIT = """
    def run(mini_batch):
        return list(mini_batch)
"""

DEPLOYMENT = """
    name: {name}
    endpoint_name: {endpoint}
    type: model
    model:
      name: engine-model
      path: {model}
    code_configuration:
      code: {code}
      scoring_script: {script}
    environment:
      name: engine-env
      image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
      conda_file: conda.yaml
    compute: azureml:batch-cluster
    resources:
      instance_count: 1
    settings:
    {settings}
"""

# name -> (script source, settings block)
DEPLOYMENTS = {
    "probe": (
        PROBE,
        """
        max_concurrency_per_instance: 2
        mini_batch_size: 3
        output_action: append_row
        output_file_name: deployment.csv
        retry_settings:
          max_retries: 2
          timeout: 20
        error_threshold: 5
        logging_level: debug
        environment_variables:
          PROBE_GREETING: hello-deployment
        """,
    ),
    "trouble": (
        TROUBLE,
        """
        max_concurrency_per_instance: 2
        mini_batch_size: 1
        retry_settings:
          max_retries: 1
          timeout: 2
        error_threshold: -1
        logging_level: warning
        environment_variables:
          MARKER_DIR: "{markers}"
        """,
    ),
    "summary": (
        PROBE,
        """
        mini_batch_size: 2
        output_action: summary_only
        """,
    ),
    "no-init": (NO_INIT, "mini_batch_size: 1"),
}


def write_deployment(folder: Path, name: str, source: str, settings: str, script: str = "score.py") -> Path:
    """A code folder holding ``source`` as ``score.py``, a conda file and an ``az ml`` deployment YAML."""
    folder.mkdir(parents=True)
    (folder / "code").mkdir()
    (folder / "code" / "score.py").write_text(textwrap.dedent(source))
    body = textwrap.dedent(DEPLOYMENT).format(
        name=name,
        endpoint=ENDPOINT,
        model=DATA / "model",
        code="code",
        script=script,
        settings=textwrap.indent(textwrap.dedent(settings).strip(), "  "),
    )
    (folder / "conda.yaml").write_text(textwrap.dedent(CONDA))
    (folder / "deployment.yml").write_text(body)
    return folder / "deployment.yml"


@pytest.fixture(scope="module")
def stack(airflow_connections, tmp_path_factory):
    """Compute, the endpoint and its deployments (``probe`` is the default), created once."""
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    root = tmp_path_factory.mktemp("engine-deployments")
    markers = root / "markers"
    markers.mkdir()
    hook = AzureMLHook(polling_interval=0.5)
    hook.ensure_compute("batch-cluster", max_instances=2)
    hook.create_or_update_batch_endpoint(ENDPOINT)
    for name, (source, settings) in DEPLOYMENTS.items():
        path = write_deployment(root / name, name, source, settings.format(markers=markers))
        hook.create_or_update_batch_deployment(str(path), set_default=name == "probe")
    container = hook.get_client().datastores.get("workspaceblobstore").container_name
    return {"root": root, "markers": markers, "container": container}


# -- helpers ---------------------------------------------------------------------------------------


def upload(wasb, stack, prefix: str, names: list[str]) -> str:
    """Write one small file per name under ``inputs/engine/<prefix>/``; return the folder's datastore URI."""
    for name in names:
        wasb.load_string(f"{name}\n", stack["container"], f"inputs/engine/{prefix}/{name}", overwrite=True)
    return f"{DATASTORE}/inputs/engine/{prefix}/"


def job_record(emulator, name: str) -> dict:
    """The emulator's own record of the job the service named ``name``: spec, history, progress, error, log."""
    (record,) = [job for job in emulator.request("GET", "/_emulator/jobs").json()["value"] if job["name"] == name]
    return {**record, "log": emulator.job_log(name)}


def job_count(emulator) -> int:
    return emulator.request("GET", "/_emulator/jobs").json()["count"]


def rows_of(hook, uri: str) -> list[list[str]]:
    """The ``append_row`` output: one line per row, values separated by a space, no header."""
    text = hook.read_datastore_file(uri).decode()
    assert text.endswith("\n")
    return [line.split(" ") for line in text.splitlines()]


def run_job(hook, name: str, inputs, **kwargs) -> dict:
    """Invoke the endpoint keyed ``name``, wait (bounded) for the job to end and return the hook's view of it.

    The result's ``job_name`` is the service's name for the job (Azure ML names batch jobs itself).
    """
    submitted = hook.invoke_batch_endpoint(
        ENDPOINT, inputs if isinstance(inputs, dict) else {"data": inputs}, job_name=name, **kwargs
    )
    assert submitted["attached"] is False  # every key here is new: a fresh job, never an earlier one
    return wait_for_job(hook, submitted["job_name"])


def poll(condition, what: str, deadline: float = POLL_DEADLINE):
    """Wait for ``condition()`` to return something truthy, under a deadline; return it."""
    end = time.monotonic() + deadline
    while not (value := condition()):
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)
    return value


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def hung_pids(stack, prefix: str) -> list[int]:
    """Pids of the workers whose ``run()`` hung on a file named ``<prefix>...``."""
    return [int(path.name.split(".")[-2]) for path in stack["markers"].glob(f"{prefix}*.pid")]


def assert_emulator_serves(hook, wasb, stack, tag: str) -> None:
    """A good job right after a failure completes: nothing the failure did broke the emulator."""
    folder = upload(wasb, stack, f"{tag}-good", ["good.txt"])
    assert run_job(hook, f"{tag}-good", folder, deployment_name="trouble")["status"] == "Completed"


# -- file-level split, init, environment, logging ----------------------------------------------------


def test_folder_is_split_at_file_level_with_the_deployment_settings(hook, wasb, stack, emulator):
    names = [f"split-{i:03d}.txt" for i in range(7)]
    folder = upload(wasb, stack, "split", names)
    output = f"{DATASTORE}/outputs/engine/split/"
    job = run_job(hook, "engine-split", folder, output_path=output)
    assert job["status"] == "Completed"

    record = job_record(emulator, job["job_name"])
    assert record["progress"] == {"done": math.ceil(7 / 3), "total": math.ceil(7 / 3), "failed_files": 0}
    assert [step["status"] for step in record["history"]] == [
        "Preparing",
        "Running",
        "Finalizing",
        "Completed",
    ]
    spec = record["spec"]
    assert (spec["mini_batch_size"], spec["output_file_name"], spec["instance_count"]) == (3, "deployment.csv", 1)
    assert (spec["max_retries"], spec["timeout"], spec["error_threshold"]) == (2, 20, 5)
    rows = rows_of(hook, output + "deployment.csv")
    assert sorted(row[0] for row in rows) == names  # one row per file, no header line
    assert {len(row) for row in rows} == {6}


def test_uri_file_input_is_one_file(hook, wasb, stack, emulator):
    upload(wasb, stack, "single", ["alone.txt", "ignored.txt"])
    output = f"{DATASTORE}/outputs/engine/single/"
    job = run_job(hook, "engine-single", f"{DATASTORE}/inputs/engine/single/alone.txt", output_path=output)
    assert job["status"] == "Completed"
    assert job_record(emulator, job["job_name"])["progress"] == {"done": 1, "total": 1, "failed_files": 0}
    assert [row[0] for row in rows_of(hook, output + "deployment.csv")] == ["alone.txt"]


@pytest.mark.parametrize("form", ["datastore", "url", "asset", "local"])
def test_every_input_form_is_downloaded_and_scored(hook, wasb, stack, emulator, tmp_path, form):
    """A datastore folder, a blob URL of the storage account, a data asset or a local folder: one job each,
    since a model deployment takes exactly one input."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Data

    folder = upload(wasb, stack, f"forms-{form}", [f"forms-{form}.txt"])
    if form == "url":
        folder = f"{wasb.get_conn().url.rstrip('/')}/{stack['container']}/inputs/engine/forms-url/"
    elif form == "asset":
        asset = Data(name="engine-forms", version="1", type=AssetTypes.URI_FOLDER, path=folder)
        hook.get_client().data.create_or_update(asset)
        folder = "azureml:engine-forms:1"
    elif form == "local":
        (tmp_path / "forms-local.txt").write_text("local\n")
        folder = str(tmp_path)
    output = f"{DATASTORE}/outputs/engine/forms-{form}/"
    assert run_job(hook, f"engine-forms-{form}", {form: folder}, output_path=output)["status"] == "Completed"
    assert [row[0] for row in rows_of(hook, output + "deployment.csv")] == [f"forms-{form}.txt"]


@pytest.mark.parametrize("form", ["data asset ARM id", "data asset location id", "datastore path ARM id"])
def test_azure_ml_resource_ids_are_scored(hook, wasb, stack, emulator, form):
    """The ids Azure ML gives a data asset version and a datastore path, as input; an ARM id as output."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Data

    slug = form.replace(" ", "-")
    folder = upload(wasb, stack, f"ids-{slug}", [f"ids-{slug}.txt"])
    s = hook.settings
    workspace = (
        f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{s.workspace_name}"
    )
    asset = hook.get_client().data.create_or_update(
        Data(name=f"ids-{slug}", version="1", type=AssetTypes.URI_FOLDER, path=folder)
    )
    located = hook.get_client().workspaces.get(s.workspace_name)
    uri = {
        "data asset ARM id": asset.id,
        "data asset location id": (
            f"azureml://locations/{located.location}/workspaces/{located._workspace_id}/data/ids-{slug}/versions/1"
        ),
        "datastore path ARM id": f"{workspace}/datastores/workspaceblobstore/paths/inputs/engine/ids-{slug}/",
    }[form]
    output = f"{workspace}/datastores/workspaceblobstore/paths/outputs/engine/ids-{slug}/"
    assert run_job(hook, f"engine-ids-{slug}", uri, output_path=output)["status"] == "Completed"
    rows = rows_of(hook, f"{DATASTORE}/outputs/engine/ids-{slug}/deployment.csv")
    assert [row[0] for row in rows] == [f"ids-{slug}.txt"]


def test_environment_is_recorded_not_built(hook, wasb, stack, emulator):
    folder = upload(wasb, stack, "environment", ["environment.txt"])
    job = run_job(hook, "engine-environment", folder)
    assert job["status"] == "Completed"
    record = job_record(emulator, job["job_name"])
    assert record["spec"]["environment"]["image"] == "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
    assert "recorded, not built" in record["log"]
    assert "not installed here: engine-test-package-not-installed" in record["log"]  # pandas is installed


def test_init_runs_once_per_worker_with_the_model_dir_and_environment(hook, wasb, stack, emulator):
    names = [f"init-{i:03d}.txt" for i in range(6)]
    folder = upload(wasb, stack, "init", names)
    output = f"{DATASTORE}/outputs/engine/init/"
    job = run_job(hook, "engine-init", folder, output_path=output, overrides={"mini_batch_size": 1})
    assert job["status"] == "Completed"

    rows = rows_of(hook, output + "deployment.csv")
    assert sorted(row[0] for row in rows) == names
    pids = {row[1] for row in rows}
    assert len(pids) <= 2 < len(names)  # 6 mini-batches on at most 2 workers (1 instance x 2)
    assert {row[2] for row in rows} == {"1"}  # init() ran once in each worker, whatever it served
    assert {(row[3], row[4]) for row in rows} == {("model/model.txt", "digits-demo")}
    assert {row[5] for row in rows} == {"hello-deployment"}  # environment_variables reach the workers


def test_logging_level_applies_to_the_job_log(hook, wasb, stack, emulator):
    folder = upload(wasb, stack, "log-debug", ["log-debug.txt"])
    job = run_job(hook, "engine-log-debug", folder)
    assert job["status"] == "Completed"
    debug_log = job_record(emulator, job["job_name"])["log"]
    assert "DEBUG Mini-batch 0" in debug_log  # the engine's debug lines (probe logs at debug)
    assert "DEBUG probe init in worker" in debug_log  # and the script's, through the worker's logging
    assert "INFO probe scoring 1 file(s)" in debug_log

    folder = upload(wasb, stack, "log-warning", ["log-000-fail-once.txt", "log-001.txt"])
    job = run_job(hook, "engine-log-warning", folder, deployment_name="trouble")
    assert job["status"] == "Completed"
    warning_log = job_record(emulator, job["job_name"])["log"]
    assert "WARNING Mini-batch 0 attempt 1/2 failed" in warning_log
    assert "trouble with log-000-fail-once.txt" in warning_log
    assert " INFO " not in warning_log and " DEBUG " not in warning_log  # trouble logs at warning
    assert "trouble scoring" not in warning_log


# -- retries, timeouts, error threshold, cancel ------------------------------------------------------


def test_failed_attempt_is_retried_and_succeeds(hook, wasb, stack, emulator):
    names = ["retry-000-fail-once.txt", "retry-001.txt", "retry-002-fail-once.txt"]
    folder = upload(wasb, stack, "retry", names)
    output = f"{DATASTORE}/outputs/engine/retry/"
    job = run_job(hook, "engine-retry", folder, deployment_name="trouble", output_path=output)
    assert job["status"] == "Completed"

    record = job_record(emulator, job["job_name"])
    assert record["progress"] == {"done": 3, "total": 3, "failed_files": 0}
    assert [row[0] for row in rows_of(hook, output + "predictions.csv")] == names
    assert record["log"].count("attempt 1/2 failed") == 2


def test_without_retries_a_failed_attempt_counts_its_files_as_failed(hook, wasb, stack, emulator):
    names = ["noretry-000-fail-once.txt", "noretry-001.txt", "noretry-002-fail-once.txt"]
    folder = upload(wasb, stack, "noretry", names)
    output = f"{DATASTORE}/outputs/engine/noretry/"
    job = run_job(
        hook, "engine-noretry", folder, deployment_name="trouble", output_path=output, overrides={"max_retries": 0}
    )
    assert job["status"] == "Completed"  # error_threshold -1 tolerates the failed files

    record = job_record(emulator, job["job_name"])
    assert record["progress"] == {"done": 3, "total": 3, "failed_files": 2}
    assert [row[0] for row in rows_of(hook, output + "predictions.csv")] == ["noretry-001.txt"]
    assert "failed after 1 attempt(s); 1 file(s) count as failed" in record["log"]


def test_hung_run_is_killed_at_the_timeout_and_retried(hook, wasb, stack, emulator):
    names = ["timeout-000.txt", "timeout-001-hang-once.txt", "timeout-002-hang.txt"]
    folder = upload(wasb, stack, "timeout", names)
    output = f"{DATASTORE}/outputs/engine/timeout/"
    job = run_job(hook, "engine-timeout", folder, deployment_name="trouble", output_path=output)
    assert job["status"] == "Completed"

    record = job_record(emulator, job["job_name"])
    assert record["spec"]["timeout"] == 2  # the deployment's retry_settings.timeout
    assert record["progress"] == {"done": 3, "total": 3, "failed_files": 1}
    scored = [row[0] for row in rows_of(hook, output + "predictions.csv")]
    assert scored == ["timeout-000.txt", "timeout-001-hang-once.txt"]  # hang-once passed on its retry
    assert record["log"].count("did not return within the timeout of 2s; worker killed") == 3
    pids = hung_pids(stack, "timeout-")
    assert len(pids) == 3 and not any(is_running(pid) for pid in pids)


def test_job_whose_only_run_hangs_fails_naming_the_timeout(hook, wasb, stack, emulator):
    folder = upload(wasb, stack, "hang-only", ["hangonly-000-hang.txt"])
    job = run_job(hook, "engine-hang-only", folder, deployment_name="trouble", overrides={"max_retries": 0})
    assert job["status"] == "Failed"
    assert "did not return within the timeout of 2s" in job["error"]
    assert not any(is_running(pid) for pid in hung_pids(stack, "hangonly-"))
    assert_emulator_serves(hook, wasb, stack, "engine-hang-only")


def test_more_failed_files_than_the_threshold_fail_the_job(hook, wasb, stack, emulator):
    names = [f"threshold-{i:03d}-fail.txt" for i in range(3)] + [f"threshold-{i:03d}.txt" for i in range(3, 12)]
    folder = upload(wasb, stack, "threshold", names)
    overrides = {"max_retries": 0, "error_threshold": 1}
    job = run_job(hook, "engine-threshold", folder, deployment_name="trouble", overrides=overrides)
    assert job["status"] == "Failed"
    assert "more than error_threshold 1" in job["error"]

    record = job_record(emulator, job["job_name"])
    assert record["error"]["code"] == "ErrorThresholdExceeded"
    assert record["progress"]["failed_files"] >= 2
    assert record["progress"]["done"] < record["progress"]["total"] == 12  # no new mini-batches after it


@pytest.mark.parametrize("threshold", [3, -1])
def test_failed_files_within_the_threshold_are_tolerated(hook, wasb, stack, emulator, threshold):
    tag = f"tolerated{threshold + 1}"
    names = [f"{tag}-{i:03d}-fail.txt" for i in range(3)] + [f"{tag}-{i:03d}.txt" for i in range(3, 5)]
    folder = upload(wasb, stack, tag, names)
    output = f"{DATASTORE}/outputs/engine/{tag}/"
    overrides = {"max_retries": 0, "error_threshold": threshold}
    job = run_job(hook, f"engine-{tag}", folder, deployment_name="trouble", output_path=output, overrides=overrides)
    assert job["status"] == "Completed"
    assert job_record(emulator, job["job_name"])["progress"] == {"done": 5, "total": 5, "failed_files": 3}
    assert [row[0] for row in rows_of(hook, output + "predictions.csv")] == names[3:]


def test_cancel_mid_job_stops_the_workers(hook, wasb, stack, emulator):
    names = ["cancel-000.txt", "cancel-001.txt", "cancel-002-hang.txt", "cancel-003-hang.txt"]
    names += [f"cancel-{i:03d}.txt" for i in range(4, 10)]
    folder = upload(wasb, stack, "cancel", names)
    output = f"{DATASTORE}/outputs/engine/cancel/"
    name = hook.invoke_batch_endpoint(
        ENDPOINT,
        {"data": folder},
        deployment_name="trouble",
        output_path=output,
        job_name="engine-cancel",
        overrides={"timeout": 300},
    )["job_name"]
    # Two mini-batches done, then every worker is inside a hung run() at once: the workers run in
    # parallel (1 instance x 2 per instance, or 1 on a one-core machine) and the job is mid-way.
    workers = min(2, os.cpu_count() or 1)
    poll(lambda: job_record(emulator, name)["progress"].get("done") == 2, "two mini-batches done")
    poll(lambda: len(hung_pids(stack, "cancel-")) == workers, f"{workers} workers inside run()")
    hook.cancel_job(name)

    assert wait_for_job(hook, name)["status"] == "Canceled"
    record = job_record(emulator, name)
    assert record["progress"]["done"] == 2 < record["progress"]["total"] == 10
    assert not any(is_running(pid) for pid in hung_pids(stack, "cancel-"))
    assert not wasb.check_for_blob(stack["container"], "outputs/engine/cancel/predictions.csv")
    assert_emulator_serves(hook, wasb, stack, "engine-cancel")


# -- override precedence, output actions ---------------------------------------------------------------


def test_invoke_overrides_beat_the_deployment_settings(hook, wasb, stack, emulator):
    names = [f"override-{i:03d}.txt" for i in range(5)]
    folder = upload(wasb, stack, "override", names)
    output = f"{DATASTORE}/outputs/engine/override/"
    overrides = {
        "mini_batch_size": 2,
        "instance_count": 2,
        "output_file_name": "override.csv",
        "max_retries": 0,
        "timeout": 7,
        "error_threshold": 3,
    }
    job = run_job(hook, "engine-override", folder, output_path=output, overrides=overrides)
    assert job["status"] == "Completed"

    record = job_record(emulator, job["job_name"])
    assert {key: record["spec"][key] for key in overrides} == overrides
    assert record["spec"]["max_concurrency_per_instance"] == 2  # not overridden: the deployment's
    assert record["progress"]["total"] == math.ceil(5 / 2)
    if (os.cpu_count() or 1) < 4:  # 2 instances x 2 per instance, capped at this machine's cores
        assert "asks for 4 workers; running" in record["log"]
    assert sorted(row[0] for row in rows_of(hook, output + "override.csv")) == names
    assert not wasb.check_for_blob(stack["container"], "outputs/engine/override/deployment.csv")

    # The next invocation without overrides is back on the deployment's settings.
    name = hook.invoke_batch_endpoint(ENDPOINT, {"data": folder}, job_name="engine-after-override")["job_name"]
    spec = job_record(emulator, name)["spec"]
    assert (spec["mini_batch_size"], spec["instance_count"], spec["output_file_name"]) == (3, 1, "deployment.csv")
    assert (spec["max_retries"], spec["timeout"], spec["error_threshold"]) == (2, 20, 5)
    assert wait_for_job(hook, name)["status"] == "Completed"


def test_summary_only_writes_no_rows(hook, wasb, stack, emulator):
    folder = upload(wasb, stack, "summary", [f"summary-{i:03d}.txt" for i in range(3)])
    output = f"{DATASTORE}/outputs/engine/summary/"
    job = run_job(hook, "engine-summary", folder, deployment_name="summary", output_path=output)
    assert job["status"] == "Completed"
    assert job_record(emulator, job["job_name"])["progress"] == {"done": 2, "total": 2, "failed_files": 0}
    assert list(wasb.get_blobs_list(stack["container"], prefix="outputs/engine/summary/")) == []


def test_existing_output_file_fails_the_job_naming_it(hook, wasb, stack, emulator):
    wasb.load_string("earlier results\n", stack["container"], "outputs/engine/taken/deployment.csv", overwrite=True)
    folder = upload(wasb, stack, "taken", ["taken.txt"])
    job = run_job(hook, "engine-taken", folder, output_path=f"{DATASTORE}/outputs/engine/taken/")
    assert job["status"] == "Failed"
    assert "outputs/engine/taken/ already has deployment.csv" in job["error"]
    record = job_record(emulator, job["job_name"])
    assert record["error"]["code"] == "OutputAlreadyExists"
    assert "already has deployment.csv" in record["log"]
    assert wasb.read_file(stack["container"], "outputs/engine/taken/deployment.csv") == "earlier results\n"
    assert_emulator_serves(hook, wasb, stack, "engine-taken")


# -- bad input -----------------------------------------------------------------------------------------


def test_missing_scoring_script_is_refused_before_any_remote_call(hook, stack, emulator, monkeypatch):
    path = write_deployment(stack["root"] / "missing-script", "missing-script", PROBE, "mini_batch_size: 1", "nope.py")
    jobs_before = job_count(emulator)
    deployments_before = hook.list_batch_deployments(ENDPOINT)

    def no_remote_call():
        raise AssertionError("the hook called the service")

    monkeypatch.setattr(hook, "get_client", no_remote_call)
    with pytest.raises(AzureMLConfigurationError, match="'nope.py' is not a file in the code folder"):
        hook.create_or_update_batch_deployment(str(path))
    monkeypatch.undo()
    assert hook.list_batch_deployments(ENDPOINT) == deployments_before
    assert job_count(emulator) == jobs_before


@pytest.mark.parametrize(
    ("inputs", "deployment", "code", "message"),
    [
        pytest.param(
            ["no-init.txt"], "no-init", "ScoringScriptInvalid", "score.py does not define init()", id="no-init"
        ),
        pytest.param(
            ["bad-short.txt"],
            "trouble",
            "AllMiniBatchesFailed",
            "run() returned 0 row(s) for 1 input file(s)",
            id="too-few-rows",
        ),
        pytest.param(
            f"{DATASTORE}/inputs/engine/never-uploaded/",
            None,
            "InputNotFound",
            "inputs/engine/never-uploaded",
            id="missing-folder",
        ),
        pytest.param(
            f"{DATASTORE}/inputs/engine/never-uploaded/gone.csv",
            None,
            "InputNotFound",
            "inputs/engine/never-uploaded/gone.csv does not exist",
            id="missing-file",
        ),
        pytest.param(
            "https://storage.example.invalid/data/scores.csv",
            None,
            "InvalidJobSpec",
            "https://storage.example.invalid/data/scores.csv is not in the configured storage account",
            id="outside-the-storage-account",
        ),
    ],
)
def test_bad_job_fails_naming_the_cause_and_the_emulator_keeps_serving(
    hook, wasb, stack, emulator, request, inputs, deployment, code, message
):
    """Files to upload (a list) or an input URI; the job fails with a message naming the cause."""
    name = f"engine-bad-{request.node.callspec.id}"
    if isinstance(inputs, list):
        inputs = upload(wasb, stack, name, inputs)
    job = run_job(hook, name, inputs, deployment_name=deployment)
    assert job["status"] == "Failed"
    assert message in job["error"]
    record = job_record(emulator, job["job_name"])
    assert record["error"]["code"] == code
    assert message in record["log"]
    assert_emulator_serves(hook, wasb, stack, name)
