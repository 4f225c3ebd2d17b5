"""The local batch engine: runs a batch deployment's scoring script over a job's inputs like Azure ML would.

The server calls ``submit``/``cancel``/``shutdown`` and learns everything else through its ``reporter``
(status, progress, log). Each job runs in its own thread: stage code, model and inputs into a job-local
folder, split the input files into mini-batches, run them on worker processes (``scoring.dispatch``),
then write ``output_file_name`` and upload the output folder. Status moves Preparing -> Running ->
Finalizing -> Completed | Failed | Canceled; a failure carries ``{"code", "message"}``.

Nothing a job does may take the server down: every error ends as that job's ``Failed`` status.

``run_local_job`` runs one job the same way on local paths, without the server, its storage account or
its job queue, and waits for it: what local scoring (``airflow_batchml.local_scoring``) uses.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from airflow_batchml_emulator.scoring.dispatch import Dispatcher, RetryPolicy
from airflow_batchml_emulator.scoring.joblog import JobLog, Reporter, missing_pip_packages
from airflow_batchml_emulator.scoring.plan import (
    JobProgress,
    JobTally,
    effective_workers,
    list_input_files,
    plan_mini_batches,
)
from airflow_batchml_emulator.scoring.pool import WorkerConfig
from airflow_batchml_emulator.scoring.spec import (
    BatchJobSpec,
    ErrorCode,
    JobError,
    JobStatus,
    OutputAction,
)
from airflow_batchml_emulator.storage import JobStorage, Location, link_tree, split_output

__all__ = ["BatchEngine", "BatchJobSpec", "JobStatus", "run_local_job"]

log = logging.getLogger(__name__)

MAX_PARALLEL_JOBS = 4
MIN_INIT_TIMEOUT = 120.0
QUEUE_POLL_SECONDS = 0.2
NAME_SHOWN = 120  # characters of an over-long blob name quoted in an error


class _Canceled(Exception):
    """Raised inside a job run when a cancel arrived; ends the run with ``Canceled``."""


@dataclass
class _Staged:
    """A job's local working copies and where its output goes."""

    script: Path
    code_dir: Path
    model_dir: Path
    input_files: list[Path]
    output_folder: Location
    output_file: Location
    output_name: str


@dataclass(frozen=True)
class _Limits:
    """Engine-wide limits every job run shares: concurrent jobs, worker processes per job, and the time
    a job spends ``Preparing`` before it may run."""

    job_slots: threading.BoundedSemaphore
    max_workers: int | None
    prepare_seconds: float = 0.0


class BatchEngine:
    """Runs batch scoring jobs in the background and reports on them.

    :param reporter: the server's store: ``set_status``, ``set_progress``, ``append_log``.
    :param storage_connection_string: the workspace storage account (Azurite locally).
    :param datastores: datastore name -> container name.
    :param work_root: folder for job-local copies (one owner-only sub-folder per running job, removed at the end).
    :param max_workers: cap on worker processes per job (default: the machine's cores).
    :param prepare_seconds: how long a job stays ``Preparing`` at least, Azure's compute preparation (a
        job GET right after the invoke answers ``Preparing``, as recorded).
    :param storage_client_endpoint: the blob endpoint clients see (the storage proxy's host), if not the
        connection string's; blob URLs under either name resolve to the account.
    """

    def __init__(
        self,
        reporter: Reporter,
        storage_connection_string: str,
        datastores: dict[str, str],
        work_root: Path,
        max_workers: int | None = None,
        prepare_seconds: float = 0.0,
        storage_client_endpoint: str | None = None,
    ) -> None:
        self._reporter = reporter
        self._storage = JobStorage(storage_connection_string, datastores, storage_client_endpoint)
        self._work_root = Path(work_root)
        self._work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._work_root.chmod(0o700)  # jobs' copies of code, model and inputs are the workspace's data
        self._limits = _Limits(threading.BoundedSemaphore(MAX_PARALLEL_JOBS), max_workers, prepare_seconds)
        self._runs: dict[str, _JobRun] = {}
        self._lock = threading.Lock()

    def submit(self, spec: BatchJobSpec) -> None:
        """Queue ``spec`` and return at once; a job of that name already running is left alone."""
        with self._lock:
            current = self._runs.get(spec.name)
            if current is not None and current.thread.is_alive():
                log.info("Job %s is already running; submit ignored", spec.name)
                return
            run = _JobRun(spec, self._reporter, self._storage, self._work_root / spec.name, self._limits)
            self._runs[spec.name] = run
        run.report_status(JobStatus.PREPARING)
        run.thread.start()

    def cancel(self, job_name: str) -> None:
        """Ask a job to stop; its status becomes ``Canceled`` once its workers are gone."""
        with self._lock:
            run = self._runs.get(job_name)
        if run is not None:
            run.cancel()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every job and wait (up to ``timeout`` seconds each) for their threads to end."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.cancel()
        for run in runs:
            run.thread.join(timeout)


def run_local_job(
    spec: BatchJobSpec, reporter: Reporter, work_root: Path, max_workers: int | None = None
) -> JobTally | None:
    """Run one job whose code, model, inputs and output are local paths, and wait for its end.

    The job runs in its own thread as on the server and reports through ``reporter``; an interrupt of the
    wait (Ctrl-C) cancels it, so its workers are killed rather than left running, and is raised again.
    Returns how its mini-batches ended (``None`` if it ended before they were planned).
    """
    work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    limits = _Limits(threading.BoundedSemaphore(1), max_workers)
    run = _JobRun(spec, reporter, JobStorage(None, {}), work_root / spec.name, limits)
    run.report_status(JobStatus.PREPARING)
    run.thread.start()
    try:
        while run.thread.is_alive():
            run.thread.join(QUEUE_POLL_SECONDS)
    except BaseException:
        run.cancel()
        run.thread.join()
        raise
    return run.tally


class _JobRun:
    """One job's run, in its own thread; reports through the engine's reporter.

    ``tally`` holds how its mini-batches ended once the run is over; the scored rows are dropped then,
    since the server keeps every run it started.
    """

    def __init__(
        self, spec: BatchJobSpec, reporter: Reporter, storage: JobStorage, work_dir: Path, limits: _Limits
    ) -> None:
        self.spec = spec
        self._reporter = reporter
        self._storage = storage
        self._work_dir = work_dir
        self._limits = limits
        self.log = JobLog(self._reporter, spec.name, spec.logging_level)
        self._canceled = threading.Event()
        self._dispatcher: Dispatcher | None = None
        self._progress: JobProgress | None = None
        self.tally: JobTally | None = None
        self._finalizing = False
        self.thread = threading.Thread(target=self._main, name=f"batch-job-{spec.name}", daemon=True)

    def cancel(self) -> None:
        """Flag the run and kill its workers; the job thread reports ``Canceled``."""
        if self._finalizing:
            return
        self._canceled.set()
        if self._dispatcher is not None:
            self._dispatcher.stop()

    def report_status(self, status: str, error: dict | None = None) -> None:
        """Report a status; a failing reporter is logged, never raised into the job thread."""
        log.info("Job %s is %s", self.spec.name, status)
        try:
            self._reporter.set_status(self.spec.name, status, error)
        except Exception:
            log.exception("Could not report status %s of job %s", status, self.spec.name)

    def _report_progress(self, done: int, total: int, failed_files: int) -> None:
        try:
            self._reporter.set_progress(self.spec.name, done, total, failed_files)
        except Exception:
            log.exception("Could not report progress of job %s", self.spec.name)

    def _main(self) -> None:
        """Run the job and turn every way it can end into exactly one terminal status."""
        try:
            self._wait_for_slot()
            try:
                self._execute()
            finally:
                self._limits.job_slots.release()
        except _Canceled:
            self.log.warning("Job canceled")
            self.report_status(JobStatus.CANCELED)
        except JobError as err:
            self.log.error("Job failed: %s: %s", err.code, err.message)
            self.report_status(JobStatus.FAILED, err.as_error())
        except Exception as err:
            log.exception("Job %s failed inside the engine", self.spec.name)
            self.log.error("Job failed inside the emulator: %r", err)
            self.report_status(JobStatus.FAILED, {"code": ErrorCode.INTERNAL, "message": repr(err)})
        else:
            self.report_status(JobStatus.COMPLETED)
        finally:
            if self._progress is not None:
                self.tally = self._progress.tally()
            self._dispatcher = self._progress = None  # drops the scored rows held for the output file
            shutil.rmtree(self._work_dir, ignore_errors=True)

    def _wait_for_slot(self) -> None:
        """Stay ``Preparing`` for ``prepare_seconds``, then until fewer than ``MAX_PARALLEL_JOBS`` jobs run; a
        cancel ends the wait."""
        if self._canceled.wait(self._limits.prepare_seconds):
            raise _Canceled
        while not self._limits.job_slots.acquire(timeout=QUEUE_POLL_SECONDS):
            self._check_canceled()

    def _execute(self) -> None:
        self._check_canceled()
        self.report_status(JobStatus.RUNNING)
        self._describe_environment()
        staged = self._stage()
        batches = plan_mini_batches(staged.input_files, self.spec.mini_batch_size)
        progress = self._progress = JobProgress(total=len(batches), error_threshold=self.spec.error_threshold)
        self.log.info(
            "%d input file(s) in %d mini-batch(es) of up to %d",
            len(staged.input_files),
            len(batches),
            self.spec.mini_batch_size,
        )
        self._report_progress(0, len(batches), 0)
        self._dispatch(staged, batches, progress)
        self._check_canceled()
        self._judge(progress)
        self._finalizing = True
        self.report_status(JobStatus.FINALIZING)
        self._write_output(staged, progress)

    def _check_canceled(self) -> None:
        if self._canceled.is_set():
            raise _Canceled

    def _describe_environment(self) -> None:
        """Record the environment the deployment asked for; the emulator uses its own interpreter."""
        environment = self.spec.environment or {}
        self.log.info(
            "Environment image %s recorded, not built; scoring runs with %s",
            environment.get("image") or "(none)",
            sys.executable,
        )
        if conda_file := environment.get("conda_file"):
            try:
                missing = missing_pip_packages(conda_file)
            except Exception as err:
                self.log.warning("Could not read the environment's conda file: %s", err)
                return
            if missing:
                self.log.warning(
                    "Pip package(s) declared by the environment are not installed here: %s", ", ".join(missing)
                )

    def _stage(self) -> _Staged:
        """Download code, model and inputs into the job folder; fail early on a bad script or output."""
        shutil.rmtree(self._work_dir, ignore_errors=True)
        self._work_dir.mkdir(mode=0o700, parents=True)
        spec, storage = self.spec, self._storage
        output_folder_uri, output_name = split_output(spec.resolved_output_uri, spec.output_file_name)
        output_folder = storage.resolve(output_folder_uri)
        output_file = output_folder.child(output_name)
        if spec.output_action == OutputAction.APPEND_ROW and storage.exists(output_file):
            raise JobError(
                ErrorCode.OUTPUT_EXISTS,
                f"the output {spec.resolved_output_uri} already has {output_name}; choose a new output path",
            )
        code_dir = storage.fetch(storage.resolve(spec.code_uri), self._work_dir / "code", "uri_folder")
        script = code_dir / spec.scoring_script
        if not script.is_file():
            raise JobError(
                ErrorCode.SCRIPT_NOT_FOUND,
                f"scoring script {spec.scoring_script} not found in the code folder {spec.code_uri}",
            )
        self._check_canceled()
        model_dir = self._stage_model()
        inputs = []
        for index, item in enumerate(spec.inputs):
            self._check_canceled()
            inputs.extend(list_input_files(self._fetch_input(item, self._work_dir / "inputs" / str(index))))
        if not inputs:
            raise JobError(ErrorCode.INPUT_NOT_FOUND, "the job's inputs hold no files to score")
        return _Staged(script, code_dir, model_dir, inputs, output_folder, output_file, output_name)

    def _fetch_input(self, item: dict[str, str], dest: Path) -> Path:
        """Download one input; a blob name too long for a local file name is the input's fault, as a user error."""
        try:
            return self._storage.fetch(self._storage.resolve(item["uri"]), dest, item["type"])
        except OSError as err:
            if err.errno != errno.ENAMETOOLONG:
                raise
            name = os.path.relpath(err.filename, dest) if err.filename else "?"
            raise JobError(
                ErrorCode.INPUT_UNREADABLE,
                f"input {item['uri']} holds a blob whose name is too long for a local file: "
                f"{name[:NAME_SHOWN]}{'...' if len(name) > NAME_SHOWN else ''}",
            ) from err

    def _stage_model(self) -> Path:
        """The model's files under ``AZUREML_MODEL_DIR`` keep their registered name, as in Azure.

        A model registered from folder ``model`` is read as ``$AZUREML_MODEL_DIR/model/...``.
        """
        model_dir = self._work_dir / "model"
        model_dir.mkdir()
        if not self.spec.model_uri:
            return model_dir
        location = self._storage.resolve(self.spec.model_uri)
        name = Path(self.spec.model_uri.rstrip("/")).name
        if self._storage.is_file(location):
            local = self._storage.fetch(location, model_dir, "uri_file")
        else:
            local = self._storage.fetch(location, model_dir / name, "uri_folder")
        if local.parent != model_dir:  # a local path, used in place
            link_tree(local.resolve(), model_dir / name)
        return model_dir

    def _dispatch(self, staged: _Staged, batches: list, progress: JobProgress) -> None:
        spec = self.spec
        workers, warning = effective_workers(spec.worker_count, os.cpu_count(), self._limits.max_workers)
        if warning:
            self.log.warning("%s", warning)
        outputs = self._work_dir / "outputs"
        outputs.mkdir()
        config = WorkerConfig(
            script_path=staged.script,
            code_dir=staged.code_dir,
            work_dir=self._work_dir,
            env=self._worker_env(staged, outputs),
            logging_level=spec.logging_level,
            init_timeout=max(spec.timeout, MIN_INIT_TIMEOUT),
        )
        self._dispatcher = Dispatcher(
            config, workers, RetryPolicy(spec.max_retries, spec.timeout), progress, self.log, self._report_progress
        )
        if self._canceled.is_set():
            return
        self.log.info("Scoring with %d worker process(es)", workers)
        self._dispatcher.run(batches)

    def _worker_env(self, staged: _Staged, outputs: Path) -> dict[str, str]:
        """The workers' environment: ours, the deployment's variables, then what Azure itself sets."""
        env = {**os.environ, **{k: str(v) for k, v in self.spec.environment_variables.items()}}
        env["AZUREML_MODEL_DIR"] = str(staged.model_dir)
        env["AZUREML_BI_OUTPUT_PATH"] = str(outputs)
        return env

    def _judge(self, progress: JobProgress) -> None:
        """Fail the job when the scoring script could not serve, the threshold was crossed or nothing passed."""
        assert self._dispatcher is not None
        if self._dispatcher.fatal is not None:
            raise JobError(self._dispatcher.fatal.code, self._dispatcher.fatal.message)
        self.log.info(
            "%d of %d mini-batch(es) succeeded; %d file(s) failed",
            progress.succeeded,
            progress.total,
            progress.failed_files,
        )
        if progress.over_threshold:
            raise JobError(
                ErrorCode.ERROR_THRESHOLD,
                f"{progress.failed_files} input file(s) failed, more than error_threshold "
                f"{self.spec.error_threshold}; last error: {progress.last_error}",
            )
        if progress.total and not progress.succeeded:
            raise JobError(ErrorCode.ALL_FAILED, f"every mini-batch failed; last error: {progress.last_error}")

    def _write_output(self, staged: _Staged, progress: JobProgress) -> None:
        """Write the appended rows, then upload everything in the output folder (scripts may add files)."""
        outputs = self._work_dir / "outputs"
        if self.spec.output_action == OutputAction.APPEND_ROW:
            with (outputs / staged.output_name).open("w", encoding="utf-8") as handle:
                handle.writelines(progress.ordered_results())
        files = sorted(path for path in outputs.rglob("*") if path.is_file())
        for path in files:
            relative = path.relative_to(outputs).as_posix()
            target = staged.output_file if relative == staged.output_name else staged.output_folder.child(relative)
            self._storage.upload(path, target)
        self.log.info("Wrote %d output file(s) to %s", len(files), self.spec.resolved_output_uri)
