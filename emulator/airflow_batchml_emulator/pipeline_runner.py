"""The local pipeline engine: runs a pipeline component job's command steps, one after another, as Azure ML would.

The plan comes from ``pipeline_spec`` (steps in dependency order). Each step is a job of its own, a child of
the pipeline job (``parent``), named by the service (a GUID) with its node name as display name; it goes
Preparing -> Running -> Completed | Failed | Canceled and keeps its own log. A step runs once every step it
reads from has completed (``pipeline_step``). When a step fails, the steps not yet started are not run,
unless the deployment sets ``continue_on_step_failure``: then every step that does not depend on a failed
one still runs. Either way the pipeline job ends ``Failed``, its error naming the failed steps and carrying
the first one's message (with its stderr tail). A cancel kills the running step's process group; the step
and the job end ``Canceled``.

After an emulator restart the job runs again under the same name; steps that had completed are not run
again (their outputs are in storage and are read back from there), the others start over.

The parent stays ``Preparing`` for ``prepare_seconds`` first, as model deployment jobs do (Azure's compute
preparation).
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from airflow_batchml_emulator.pipeline_step import StepProcess
from airflow_batchml_emulator.scoring.joblog import JobLog, Reporter
from airflow_batchml_emulator.scoring.spec import ErrorCode, JobError, JobStatus
from airflow_batchml_emulator.storage import JobStorage

log = logging.getLogger(__name__)
FAILED = JobStatus.FAILED


@dataclass
class PipelineJobSpec:
    """A pipeline job as stored: its steps with every binding resolved (``pipeline_deployments.build_spec``)."""

    KIND: ClassVar[str] = "pipeline"

    name: str
    endpoint: str
    deployment: str
    component_id: str
    compute: str
    continue_on_step_failure: bool
    outputs: dict[str, dict[str, str]]
    steps: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PipelineJobSpec:
        return cls(**{key: value for key, value in values.items() if key != "kind"})

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.KIND, **asdict(self)}


class PipelineReporter(Reporter, Protocol):
    """The server's store, with the step jobs of a pipeline job."""

    def add_step_job(self, parent: str, name: str, node: str) -> None: ...

    def step_jobs(self, parent: str) -> dict[str, tuple[str, str]]:
        """node -> (step job name, status) of the steps started so far."""
        ...


class PipelineEngine:
    """Runs pipeline jobs in the background, each in its own thread; same interface as ``BatchEngine``."""

    def __init__(
        self, reporter: PipelineReporter, storage: JobStorage, work_root: Path, prepare_seconds: float = 0.0
    ) -> None:
        self._reporter = reporter
        self._storage = storage
        self._work_root = Path(work_root)
        self._work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._work_root.chmod(0o700)  # steps' copies of code and inputs are the workspace's data
        self._prepare_seconds = prepare_seconds
        self._runs: dict[str, _PipelineRun] = {}
        self._lock = threading.Lock()

    def submit(self, spec: PipelineJobSpec) -> None:
        with self._lock:
            current = self._runs.get(spec.name)
            if current is not None and current.thread.is_alive():
                return
            run = _PipelineRun(spec, self._reporter, self._storage, self._work_root / spec.name, self._prepare_seconds)
            self._runs[spec.name] = run
        run.report(spec.name, JobStatus.PREPARING)
        run.thread.start()

    def cancel(self, job_name: str) -> None:
        """Cancel a pipeline job, or one running step of one (by the step job's name)."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if run.spec.name == job_name:
                run.cancel()
            else:
                run.cancel_step(job_name)

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.cancel()
        for run in runs:
            run.thread.join(timeout)


class _PipelineRun:
    def __init__(
        self, spec: PipelineJobSpec, reporter: PipelineReporter, storage: JobStorage, work_dir: Path, prepare: float
    ) -> None:
        self.spec = spec
        self._reporter = reporter
        self._storage = storage
        self._work_dir = work_dir
        self._prepare = prepare
        self.log = JobLog(reporter, spec.name, "info")
        self._canceled = threading.Event()
        self._current: StepProcess | None = None
        self.thread = threading.Thread(target=self._main, name=f"pipeline-job-{spec.name}", daemon=True)

    def report(self, job_name: str, status: str, error: dict | None = None) -> None:
        try:
            self._reporter.set_status(job_name, status, error)
        except Exception:
            log.exception("Could not report status %s of job %s", status, job_name)

    def cancel(self) -> None:
        self._canceled.set()
        if self._current is not None:
            self._current.cancel()

    def cancel_step(self, job_name: str) -> None:
        current = self._current
        if current is not None and current.step["job_name"] == job_name:
            current.cancel()

    def _main(self) -> None:
        try:
            if self._canceled.wait(self._prepare):
                self.report(self.spec.name, JobStatus.CANCELED)
                return
            self.report(self.spec.name, JobStatus.RUNNING)
            failed = self._run_steps()
            if self._canceled.is_set():
                self.log.warning("Job canceled")
                self.report(self.spec.name, JobStatus.CANCELED)
            elif failed:
                self.report(self.spec.name, JobStatus.FAILED, _pipeline_error(failed))
            else:
                self.report(self.spec.name, JobStatus.COMPLETED)
        except Exception as err:
            log.exception("Pipeline job %s failed inside the engine", self.spec.name)
            self.report(self.spec.name, JobStatus.FAILED, {"code": ErrorCode.INTERNAL, "message": repr(err)})
        finally:
            shutil.rmtree(self._work_dir, ignore_errors=True)

    def _run_steps(self) -> list[tuple[str, str]]:
        """Run the steps in order; return the failed ones as (node, message)."""
        known = self._reporter.step_jobs(self.spec.name)
        completed = {node for node, (_, status) in known.items() if status == JobStatus.COMPLETED}
        failed = [(node, "failed before the emulator restarted") for node, (_, s) in known.items() if s == FAILED]
        upstream: dict[str, Path] = {}
        for step in self.spec.steps:
            node = step["node"]
            if self._canceled.is_set() or (failed and not self.spec.continue_on_step_failure):
                break
            if node in completed:
                upstream[node] = self._restore_outputs(step)
                continue
            if node in dict(failed):
                continue
            if not set(step["after"]) <= completed:
                self.log.warning("Step %s is not run: a step it reads from did not complete", node)
                continue
            step = {**step, "job_name": known.get(node, (step["job_name"], ""))[0]}
            message = self._run_step(step, upstream)
            if message is None:
                completed.add(node)
            elif not self._canceled.is_set():
                failed.append((node, message))
        return failed

    def _run_step(self, step: dict[str, Any], upstream: dict[str, Path]) -> str | None:
        """Run one step as a child job; its failure message, or None when it completed."""
        name, node = step["job_name"], step["node"]
        self._reporter.add_step_job(self.spec.name, name, node)
        self.report(name, JobStatus.PREPARING)
        work_dir = self._work_dir / "steps" / name
        shutil.rmtree(work_dir, ignore_errors=True)
        process = StepProcess(step, work_dir, self._storage, JobLog(self._reporter, name, "info"))
        self._current = process
        if self._canceled.is_set():
            process.cancel()
        self.log.info("Step %s (job %s) started", node, name)
        self.report(name, JobStatus.RUNNING)
        try:
            process.run(upstream)
        except JobError as err:
            self.log.error("Step %s failed: %s", node, err.message)
            self.report(name, JobStatus.FAILED, err.as_error())
            return err.message
        except Exception as err:  # the step's job must end, never stay Running
            log.exception("Step %s of pipeline job %s failed inside the engine", node, self.spec.name)
            self.report(name, JobStatus.FAILED, {"code": ErrorCode.INTERNAL, "message": repr(err)})
            return repr(err)
        finally:
            self._current = None
        if process.canceled.is_set():
            self.report(name, JobStatus.CANCELED)
            return f"step {node} was canceled"
        upstream[node] = work_dir / "outputs"
        self.log.info("Step %s completed", node)
        self.report(name, JobStatus.COMPLETED)
        return None

    def _restore_outputs(self, step: dict[str, Any]) -> Path:
        """A step completed before a restart: its outputs, read back from storage for the steps after it."""
        folder = self._work_dir / "restored" / step["node"]
        for name, uri in step["outputs"].items():
            try:
                self._storage.fetch(self._storage.resolve(uri), folder / name, "uri_folder")
            except JobError:  # the step wrote nothing to this output
                (folder / name).mkdir(parents=True, exist_ok=True)
        return folder


def _pipeline_error(failed: list[tuple[str, str]]) -> dict[str, str]:
    nodes = ", ".join(node for node, _ in failed)
    node, message = failed[0]
    return {
        "code": ErrorCode.USER_ERROR,
        "message": f"Pipeline has failed child jobs. Failed nodes: {nodes}. Step {node}: {message}",
    }
