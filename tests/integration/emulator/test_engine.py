"""The batch engine with real worker processes running small scoring scripts written by the tests.

The reporter is an in-memory recorder (the server's internal interface, not Azure's). Tests wait on the
recorder reaching a terminal status under a deadline; they never assert on wall-clock time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from airflow_batchml_emulator import engine as engine_module
from airflow_batchml_emulator.engine import BatchEngine, BatchJobSpec, JobStatus
from tests.integration.emulator.engine_support import DEADLINE, Recorder, make_spec, write_code, write_inputs


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def engine(recorder: Recorder, tmp_path: Path):
    engine = BatchEngine(recorder, "UseDevelopmentStorage=true", {"workspaceblobstore": "blobs"}, tmp_path / "work")
    yield engine
    engine.shutdown()


def run_job(engine: BatchEngine, recorder: Recorder, spec: BatchJobSpec) -> str:
    engine.submit(spec)
    return recorder.wait_terminal()


ECHO = """
import os
def init():
    global calls
    calls = 0
def run(mini_batch):
    global calls
    calls += 1
    return [f"{os.path.basename(path)} {open(path).read()} {os.getpid()}" for path in mini_batch]
"""


def test_scores_every_file_in_order_and_reports_progress(engine, recorder, tmp_path):
    inputs = write_inputs(tmp_path, [f"f{i}.txt" for i in range(5)])
    (inputs / "nested").mkdir()
    (inputs / "nested" / "g.txt").write_text("g")
    spec = make_spec(tmp_path, write_code(tmp_path, ECHO), inputs, mini_batch_size=2, max_concurrency_per_instance=2)

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED

    assert recorder.statuses == ["Preparing", "Running", "Finalizing", "Completed"]
    rows = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert [row.split()[0] for row in rows] == [*(f"f{i}.txt" for i in range(5)), "g.txt"]
    assert recorder.progress[0] == (0, 3, 0)
    assert recorder.progress[-1] == (3, 3, 0)
    assert len({row.split()[2] for row in rows}) == 2, "two workers share the mini-batches"


def test_init_runs_once_per_worker(engine, recorder, tmp_path):
    code = write_code(tmp_path, ECHO.replace("calls = 0", "calls = 0\n    print('init done')"))
    spec = make_spec(tmp_path, code, write_inputs(tmp_path, ["a", "b", "c", "d"]))

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert recorder.log.count("init done") == 1


DATAFRAME = """
import os
import pandas as pd
def init():
    global weights
    weights = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.txt")).read()
def run(mini_batch):
    return pd.DataFrame({"file": [os.path.basename(p) for p in mini_batch], "model": weights,
                         "flavour": os.environ["FLAVOUR"]})
"""


def test_dataframe_rows_are_space_separated_without_header_and_see_model_and_env(engine, recorder, tmp_path):
    model = tmp_path / "registered" / "model"
    model.mkdir(parents=True)
    (model / "weights.txt").write_text("w1")
    spec = make_spec(
        tmp_path,
        write_code(tmp_path, DATAFRAME),
        write_inputs(tmp_path, ["a.csv", "b.csv"]),
        model_uri=str(model),
        environment_variables={"FLAVOUR": "vanilla"},
        output_file_name="scores.csv",
    )

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert (tmp_path / "out" / "scores.csv").read_text() == "a.csv w1 vanilla\nb.csv w1 vanilla\n"


FLAKY = """
from pathlib import Path
def init():
    pass
def run(mini_batch):
    marker = Path(mini_batch[0] + ".tried")
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError("transient failure")
    return mini_batch
"""


def test_a_failed_mini_batch_is_retried(engine, recorder, tmp_path):
    spec = make_spec(tmp_path, write_code(tmp_path, FLAKY), write_inputs(tmp_path, ["a"]), max_retries=1)

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert "attempt 1/2 failed" in recorder.log
    assert "RuntimeError: transient failure" in recorder.log
    assert recorder.progress[-1] == (1, 1, 0)


PICKY = """
def init():
    pass
def run(mini_batch):
    if any(path.endswith(".bad") for path in mini_batch):
        raise ValueError("cannot score " + mini_batch[0])
    return mini_batch
"""


def test_exhausted_retries_count_files_as_failed_and_any_threshold_tolerates_them(engine, recorder, tmp_path):
    inputs = write_inputs(tmp_path, ["1.bad", "2.ok", "3.ok"])
    spec = make_spec(tmp_path, write_code(tmp_path, PICKY), inputs, max_retries=2, error_threshold=-1)

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert recorder.progress[-1] == (3, 3, 1)
    assert "attempt 3/3 failed" in recorder.log
    assert (tmp_path / "out" / "predictions.csv").read_text().count("\n") == 2


def test_crossing_the_error_threshold_fails_the_job_and_stops_scheduling(engine, recorder, tmp_path):
    inputs = write_inputs(tmp_path, ["1.bad", "2.bad", "3.bad", "4.ok", "5.ok", "6.ok"])
    spec = make_spec(tmp_path, write_code(tmp_path, PICKY), inputs, error_threshold=1)

    assert run_job(engine, recorder, spec) == JobStatus.FAILED
    assert recorder.error["code"] == "ErrorThresholdExceeded"
    assert "cannot score" in recorder.error["message"]
    done, total, failed = recorder.progress[-1]
    assert (done, total, failed) == (2, 6, 2)
    assert not (tmp_path / "out" / "predictions.csv").exists()


HANGS = """
import os, time
from pathlib import Path
def init():
    pass
def run(mini_batch):
    if mini_batch[0].endswith("hang"):
        Path(mini_batch[0] + ".tmp").write_text(str(os.getpid()))
        os.replace(mini_batch[0] + ".tmp", mini_batch[0] + ".pid")  # atomic: a kill never leaves it empty
        time.sleep(600)
    return mini_batch
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_hung_run_is_killed_at_the_timeout(engine, recorder, tmp_path):
    inputs = write_inputs(tmp_path, ["1.hang", "2.ok"])
    spec = make_spec(tmp_path, write_code(tmp_path, HANGS), inputs, timeout=1)

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert "did not return within the timeout of 1s; worker killed" in recorder.log
    assert recorder.progress[-1] == (2, 2, 1)
    assert not _pid_alive(int((inputs / "1.hang.pid").read_text()))


def test_cancel_stops_the_workers_mid_job(engine, recorder, tmp_path):
    code = write_code(tmp_path, HANGS.replace("time.sleep", "print('hanging now', flush=True); time.sleep"))
    inputs = write_inputs(tmp_path, ["1.hang", "2.hang", "3.hang"])
    engine.submit(make_spec(tmp_path, code, inputs, timeout=300, max_concurrency_per_instance=2))
    recorder.wait_until(lambda: "hanging now" in recorder.log, "a run() call to start")

    engine.cancel("job-1")

    assert recorder.wait_terminal() == JobStatus.CANCELED
    pids = [int(path.read_text()) for path in inputs.glob("*.pid")]
    assert pids
    assert not any(_pid_alive(pid) for pid in pids)


def test_a_queued_job_can_be_canceled_while_another_runs(recorder, tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "MAX_PARALLEL_JOBS", 1)
    engine = BatchEngine(recorder, "UseDevelopmentStorage=true", {}, tmp_path / "work")
    code = write_code(tmp_path, HANGS.replace("time.sleep", "print('hanging now', flush=True); time.sleep"))
    inputs = write_inputs(tmp_path, ["1.hang"])
    try:
        engine.submit(make_spec(tmp_path, code, inputs, name="first", timeout=300))
        recorder.wait_until(lambda: "hanging now" in recorder.log, "the first job to score")
        engine.submit(make_spec(tmp_path, code, inputs, name="second", output_uri=str(tmp_path / "out2")))

        engine.cancel("second")

        recorder.wait_until(lambda: recorder.by_job["second"][-1] == "Canceled", "the queued job to cancel")
        assert recorder.by_job == {"first": ["Preparing", "Running"], "second": ["Preparing", "Canceled"]}
    finally:
        engine.shutdown()


SPAWNS = """
import os, subprocess, time
def _start_sleeper():
    sleeper = subprocess.Popen(["sleep", "300"])
    with open(os.environ["SLEEPER_PIDS"], "a") as pids:
        pids.write(f"{sleeper.pid}\\n")
def init():
    _start_sleeper()
def run(mini_batch):
    if mini_batch[0].endswith("hang"):
        _start_sleeper()
        print("hanging now", flush=True)
        time.sleep(600)
    return mini_batch
"""


def _process_gone(pid: int) -> bool:
    """Whether ``pid`` has ended: no such process, or a zombie nobody has reaped yet (Linux ``/proc``)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return True
    return state == "Z"


@pytest.fixture
def sleepers(tmp_path: Path):
    """The file where ``SPAWNS`` writes its sleepers' pids; sleepers left behind are killed at the end."""
    path = tmp_path / "sleeper-pids"
    path.touch()
    yield path
    for pid in map(int, path.read_text().split()):
        if not _process_gone(pid):
            os.kill(pid, 9)


def _survivors(sleepers: Path, expected: int) -> list[int]:
    """The sleepers still running once they had ``DEADLINE`` seconds to go (polled, not slept on)."""
    pids = [int(pid) for pid in sleepers.read_text().split()]
    assert len(pids) == expected, pids
    deadline = time.monotonic() + DEADLINE
    while (alive := [pid for pid in pids if not _process_gone(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def test_processes_a_script_starts_end_with_its_worker_at_a_timeout_and_at_completion(
    engine, recorder, tmp_path, sleepers
):
    inputs = write_inputs(tmp_path, ["1.hang", "2.ok"])
    env = {"SLEEPER_PIDS": str(sleepers)}
    spec = make_spec(tmp_path, write_code(tmp_path, SPAWNS), inputs, timeout=1, environment_variables=env)

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert _survivors(sleepers, expected=3) == []  # from init() of both workers and the hung run()


@pytest.mark.parametrize("stop", ["cancel", "shutdown"])
def test_processes_a_script_starts_end_when_the_job_is_canceled_or_the_engine_stops(
    engine, recorder, tmp_path, sleepers, stop
):
    inputs = write_inputs(tmp_path, ["1.hang"])
    env = {"SLEEPER_PIDS": str(sleepers)}
    engine.submit(make_spec(tmp_path, write_code(tmp_path, SPAWNS), inputs, timeout=300, environment_variables=env))
    recorder.wait_until(lambda: "hanging now" in recorder.log, "a run() call to start")

    if stop == "cancel":
        engine.cancel("job-1")
    else:
        engine.shutdown()

    assert recorder.wait_terminal() == JobStatus.CANCELED
    assert _survivors(sleepers, expected=2) == []


def test_summary_only_writes_no_rows(engine, recorder, tmp_path):
    spec = make_spec(tmp_path, write_code(tmp_path, ECHO), write_inputs(tmp_path, ["a"]), output_action="summary_only")

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert not (tmp_path / "out" / "predictions.csv").exists()


def test_an_existing_output_file_fails_the_job_before_scoring(engine, recorder, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "given.csv").write_text("old")
    spec = make_spec(
        tmp_path, write_code(tmp_path, ECHO), write_inputs(tmp_path, ["a"]), output_uri=str(tmp_path / "out/given.csv")
    )

    assert run_job(engine, recorder, spec) == JobStatus.FAILED
    assert recorder.error["code"] == "OutputAlreadyExists"
    assert "given.csv" in recorder.error["message"]
    assert (tmp_path / "out" / "given.csv").read_text() == "old"


@pytest.mark.parametrize(
    ("source", "code", "words"),
    [
        (None, "ScoringScriptNotFound", "score.py"),
        ("def init():\n    pass\n", "ScoringScriptInvalid", "run()"),
        ("def run(b):\n    return b\n", "ScoringScriptInvalid", "init()"),
        (
            "def init():\n    raise OSError('no model here')\ndef run(b):\n    return b\n",
            "ScoringScriptInitFailed",
            "no model here",
        ),
        ("def init(:\n", "ScoringScriptInitFailed", "SyntaxError"),
        ("def init():\n    pass\ndef run(b):\n    return []\n", "AllMiniBatchesFailed", "0 row(s) for 1 input file(s)"),
        ("def init():\n    pass\ndef run(b):\n    return 'text'\n", "AllMiniBatchesFailed", "DataFrame or a list"),
    ],
    ids=["missing", "no-run", "no-init", "init-raises", "syntax-error", "too-few-rows", "wrong-type"],
)
def test_bad_scripts_fail_the_job_naming_the_cause(engine, recorder, tmp_path, source, code, words):
    code_dir = write_code(tmp_path, source or "", name="score.py" if source else "other.py")
    spec = make_spec(tmp_path, code_dir, write_inputs(tmp_path, ["a"]))

    assert run_job(engine, recorder, spec) == JobStatus.FAILED
    assert recorder.error["code"] == code
    assert words in recorder.error["message"]
    assert code in recorder.log


def test_a_missing_input_fails_the_job(engine, recorder, tmp_path):
    spec = make_spec(tmp_path, write_code(tmp_path, ECHO), tmp_path / "nowhere")

    assert run_job(engine, recorder, spec) == JobStatus.FAILED
    assert recorder.error["code"] == "InputNotFound"
    assert "nowhere" in recorder.error["message"]


def test_an_empty_input_folder_fails_the_job(engine, recorder, tmp_path):
    (tmp_path / "empty").mkdir()
    spec = make_spec(tmp_path, write_code(tmp_path, ECHO), tmp_path / "empty")

    assert run_job(engine, recorder, spec) == JobStatus.FAILED
    assert recorder.error == {"code": "InputNotFound", "message": "the job's inputs hold no files to score"}


def test_more_workers_than_cores_are_capped_with_a_warning(engine, recorder, tmp_path):
    spec = make_spec(
        tmp_path,
        write_code(tmp_path, ECHO),
        write_inputs(tmp_path, [str(i) for i in range(9)]),
        instance_count=os.cpu_count(),
        max_concurrency_per_instance=3,
        mini_batch_size=4,
    )

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert f"asks for {os.cpu_count() * 3} workers" in recorder.log
    assert recorder.progress[-1] == (3, 3, 0)


def test_logging_level_filters_the_job_log(engine, recorder, tmp_path):
    code = write_code(tmp_path, "import logging\n" + ECHO.replace("calls = 0", "calls = 0\n    logging.info('chatty')"))
    spec = make_spec(tmp_path, code, write_inputs(tmp_path, ["a"]), logging_level="warning")

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert "INFO" not in recorder.log
    assert "chatty" not in recorder.log


def test_debug_level_logs_each_mini_batch_and_missing_pip_packages_are_named(engine, recorder, tmp_path):
    conda = "dependencies:\n  - python=3.11\n  - pip:\n    - pandas\n    - surely-not-installed-pkg==1.0\n"
    spec = make_spec(
        tmp_path,
        write_code(tmp_path, ECHO),
        write_inputs(tmp_path, ["a"]),
        logging_level="debug",
        environment={"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04", "conda_file": conda},
    )

    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
    assert "Mini-batch 0: 1 row(s) from 1 file(s)" in recorder.log
    assert "openmpi4.1.0-ubuntu20.04 recorded, not built" in recorder.log
    assert "not installed here: surely-not-installed-pkg" in recorder.log


def test_the_engine_keeps_serving_after_a_failed_job(engine, recorder, tmp_path):
    code = write_code(tmp_path, ECHO)
    assert run_job(engine, recorder, make_spec(tmp_path, code, tmp_path / "nowhere")) == JobStatus.FAILED

    spec = make_spec(tmp_path, code, write_inputs(tmp_path, ["a"]), name="job-2")
    assert run_job(engine, recorder, spec) == JobStatus.COMPLETED
