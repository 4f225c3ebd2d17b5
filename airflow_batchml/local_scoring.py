"""Score local files with a batch deployment's scoring script, as a batch job would, before paying for compute.

Azure ML has ``--local`` for online endpoints only. This reads a model batch deployment YAML (either ``az ml``
form) and hands the job to the emulator's scoring engine (``run_local_job``), the one the emulator's batch
jobs run on: ``init()`` once per worker, ``run(mini_batch)`` on file mini-batches, with the deployment's
concurrency, retries, timeout, error threshold and output action; then it writes the output file. The
environment is not built: the script runs in this interpreter, so packages its conda file declares that
are not installed here are reported by name before anything runs.

    python -m airflow_batchml.local_scoring deployment.yml images/ --output-dir out/
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks import deployment_spec
from airflow_batchml.hooks.clouds import forget_inherited_custom_cloud
from airflow_batchml.hooks.deployment_assets import check_scoring_script, is_local, local_code_dir

try:
    from airflow_batchml_emulator.engine import run_local_job
    from airflow_batchml_emulator.scoring.joblog import missing_conda_packages, missing_pip_packages
    from airflow_batchml_emulator.scoring.plan import JobTally, effective_workers, list_input_files
    from airflow_batchml_emulator.scoring.spec import BatchJobSpec, JobError, JobStatus, OutputAction
except ImportError as missing:  # the engine ships with the emulator, not with the provider
    raise ImportError(
        "Local scoring runs the emulator's scoring engine: install airflow-batchml[local-scoring] "
        "(the airflow-batchml-emulator distribution)"
    ) from missing

log = logging.getLogger(__name__)

# The YAML spellings of output_action, and the REST ones (AppendRow) an entity may carry.
_OUTPUT_ACTIONS = {"appendrow": OutputAction.APPEND_ROW, "summaryonly": OutputAction.SUMMARY_ONLY}


@dataclass(frozen=True)
class LocalJob:
    """A deployment turned into a job on local paths, checked and ready to run."""

    spec: BatchJobSpec
    files: int
    missing_packages: list[str]


@dataclass
class LocalScoringSummary:
    """How a local scoring run ended: what a batch job's overview reports, plus what was not installed."""

    deployment: str
    status: str
    error: str | None
    files: int
    failed_files: int
    mini_batches: int
    succeeded_mini_batches: int
    failed_mini_batches: int
    workers: int
    output_file: str | None
    rows: int | None
    seconds: float
    missing_packages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        """The summary as the command prints it."""
        lines = [
            f"local scoring of deployment {self.deployment}: {self.status}",
            f"  files          {self.files} ({self.failed_files} failed)",
            f"  mini-batches   {self.succeeded_mini_batches} of {self.mini_batches} succeeded, "
            f"{self.failed_mini_batches} failed",
            f"  workers        {self.workers}",
            f"  output         {self.output_file or 'none written'}"
            + (f" ({self.rows} rows)" if self.rows is not None else ""),
            f"  time           {self.seconds:.1f} s",
        ]
        if self.missing_packages:
            lines.append(f"  not installed  {', '.join(self.missing_packages)}")
        if self.error:
            lines.append(f"  error          {self.error.splitlines()[0]}")
        return "\n".join(lines)


def score_locally(
    deployment_yaml: str | Path,
    inputs: str | Path | Sequence[str | Path],
    output_dir: str | Path,
    *,
    max_workers: int | None = None,
    on_log: Callable[[str], None] | None = None,
) -> LocalScoringSummary:
    """Check, report missing packages, run and summarise; a failed job is a summary, bad input an error."""
    job = prepare(deployment_yaml, inputs, output_dir)
    if job.missing_packages:
        log.warning("%s", _missing_note(job.missing_packages))
    return run(job, max_workers=max_workers, on_log=on_log)


def prepare(deployment_yaml: str | Path, inputs: str | Path | Sequence[str | Path], output_dir: str | Path) -> LocalJob:
    """Load the deployment and check everything local scoring needs, naming the field that is wrong."""
    path = Path(deployment_yaml).resolve()
    if deployment_spec.read_yaml(path, "deployment").get("type") == "pipeline":
        raise AzureMLConfigurationError(
            "deployment", f"{path} is a pipeline component deployment; local scoring runs model deployments"
        )
    forget_inherited_custom_cloud()  # a parent's custom cloud name breaks importing azure.ai.ml; none is needed here
    deployment = deployment_spec.load_deployment(path)
    files = _input_paths(inputs)
    output = Path(output_dir).resolve()
    if output.is_file():
        raise AzureMLConfigurationError("output_dir", f"{output} is a file, not a folder")
    spec = _spec(deployment, path, files, output)
    if spec.output_action == OutputAction.APPEND_ROW and (output / spec.output_file_name).exists():
        raise AzureMLConfigurationError(
            "output_dir", f"{output} already holds {spec.output_file_name}; a batch job never overwrites its output"
        )
    count = sum(len(list_input_files(item)) for item in files)
    if not count:
        raise AzureMLConfigurationError("inputs", "the inputs hold no files to score")
    return LocalJob(spec, count, _missing_packages(deployment.environment))


def run(
    job: LocalJob, *, max_workers: int | None = None, on_log: Callable[[str], None] | None = None
) -> LocalScoringSummary:
    """Run the job on the engine and summarise it; ``on_log`` gets each job log line (default: this logger)."""
    recorder = _Recorder(on_log or (lambda line: log.info("%s", line.rstrip("\n"))))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batchml-local-") as work_root:
        tally = run_local_job(job.spec, recorder, Path(work_root), max_workers) or JobTally(0, 0, 0, 0)
    seconds = time.monotonic() - started
    spec = job.spec
    output = Path(spec.output_uri or "") / spec.output_file_name
    written = spec.output_action == OutputAction.APPEND_ROW and recorder.status == JobStatus.COMPLETED
    error = recorder.error
    return LocalScoringSummary(
        deployment=spec.deployment,
        status=recorder.status or JobStatus.FAILED,
        error=f"{error['code']}: {error['message']}" if error else None,
        files=job.files,
        failed_files=tally.failed_files,
        mini_batches=tally.total,
        succeeded_mini_batches=tally.succeeded,
        failed_mini_batches=tally.failed,
        workers=min(effective_workers(spec.worker_count, os.cpu_count(), max_workers)[0], tally.total),
        output_file=str(output) if written else None,
        rows=_count_lines(output) if written else None,
        seconds=round(seconds, 3),
        missing_packages=job.missing_packages,
    )


class _Recorder:
    """The engine's reporter for one local job: keeps the last status, hands log lines on."""

    def __init__(self, on_log: Callable[[str], None]) -> None:
        self._on_log = on_log
        self.status: str | None = None
        self.error: dict | None = None

    def set_status(self, job_name: str, status: str, error: dict | None = None) -> None:
        self.status, self.error = status, error

    def set_progress(self, job_name: str, done: int, total: int, failed_files: int) -> None:
        """Progress is in the log already; the summary reads the engine's tally."""

    def append_log(self, job_name: str, text: str) -> None:
        self._on_log(text)


def _spec(deployment: Any, path: Path, inputs: list[Path], output: Path) -> BatchJobSpec:
    """The job a batch invoke of this deployment would run, on local paths; unset settings take Azure's defaults."""
    retry = _setting(deployment, "retry_settings")
    action = _setting(deployment, "output_action")
    level = _setting(deployment, "logging_level")
    values = {
        "name": "local-" + re.sub(r"[^A-Za-z0-9_-]", "-", deployment.name or "deployment"),
        "endpoint": deployment.endpoint_name or "",
        "deployment": deployment.name or path.name,
        "code_uri": str(_code_dir(deployment)),
        "scoring_script": str(deployment.code_configuration.scoring_script),
        "model_uri": _model_path(deployment),
        "inputs": [{"type": "uri_file" if p.is_file() else "uri_folder", "uri": str(p)} for p in inputs],
        "output_uri": f"{output}/",
        "output_file_name": _setting(deployment, "output_file_name"),
        "output_action": _OUTPUT_ACTIONS.get(str(action).replace("_", "").lower(), action) if action else None,
        "mini_batch_size": _setting(deployment, "mini_batch_size"),
        "instance_count": _setting(deployment, "instance_count"),
        "max_concurrency_per_instance": _setting(deployment, "max_concurrency_per_instance"),
        "max_retries": getattr(retry, "max_retries", None),
        "timeout": getattr(retry, "timeout", None),
        "error_threshold": _setting(deployment, "error_threshold"),
        "logging_level": str(level).lower() if level else None,
        "environment_variables": _setting(deployment, "environment_variables") or None,
        "environment": {"image": getattr(deployment.environment, "image", None)},
    }
    try:
        return BatchJobSpec(**{key: value for key, value in values.items() if value is not None})
    except JobError as err:
        raise AzureMLConfigurationError(f"deployment ({path})", err.message) from err


def _setting(deployment: Any, name: str) -> Any:
    """A setting of either form: in ``settings:`` (model deployment) or at the top level (the older form)."""
    value = getattr(getattr(deployment, "settings", None), name, None)
    return value if value is not None else getattr(deployment, name, None)


def _code_dir(deployment: Any) -> Path:
    code_dir = local_code_dir(deployment)
    if code_dir is None:
        code = getattr(deployment.code_configuration, "code", None)
        raise AzureMLConfigurationError("code_configuration.code", f"{code!r} is not a local folder")
    if not code_dir.is_dir():
        raise AzureMLConfigurationError("code_configuration.code", f"folder {str(code_dir)!r} does not exist")
    check_scoring_script(deployment)
    return code_dir.resolve()


def _model_path(deployment: Any) -> str | None:
    """The local model file or folder; a registered model (``azureml:name:version``) is not on this machine."""
    model = deployment.model
    if model is None:
        return None
    model_path = getattr(model, "path", None)
    if isinstance(model, str) or not model_path or not is_local(model_path):
        shown = model if isinstance(model, str) else model_path or getattr(model, "name", None)
        raise AzureMLConfigurationError("model", f"{shown!r} is not a local path; local scoring needs model.path")
    local = (Path(getattr(deployment, "base_path", None) or ".") / model_path).resolve()
    if not local.exists():
        raise AzureMLConfigurationError("model.path", f"{str(local)!r} does not exist")
    return str(local)


def _input_paths(inputs: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    if not items:
        raise AzureMLConfigurationError("inputs", "name at least one local file or folder")
    paths = [Path(item).expanduser().resolve() for item in items]
    for item in paths:
        if not item.exists():
            raise AzureMLConfigurationError("inputs", f"{str(item)!r} does not exist")
    return paths


def _missing_packages(environment: Any) -> list[str]:
    """Pip and conda packages of the environment's conda file that this interpreter does not have."""
    conda_file = getattr(environment, "conda_file", None)
    if not conda_file:
        return []
    missing = missing_pip_packages(conda_file) + missing_conda_packages(conda_file)
    return list(dict.fromkeys(missing))


def _missing_note(missing: list[str]) -> str:
    return (
        "The deployment's environment declares packages this interpreter does not have: "
        f"{', '.join(missing)}; the scoring script runs here, so install them or expect import errors"
    )


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def main(argv: Sequence[str] | None = None) -> int:
    """``batchml-score-local``: exit 0 when the job completed, 1 when it failed, 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog="batchml-score-local",
        description="Run a batch deployment's scoring script on local files, as a batch job would.",
    )
    parser.add_argument("deployment", help="the batch deployment YAML (either az ml form)")
    parser.add_argument("inputs", nargs="+", help="local files or folders to score")
    parser.add_argument("-o", "--output-dir", required=True, help="folder for the output file")
    parser.add_argument("--max-workers", type=_positive, help="cap on worker processes (default: the cores)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the job log")
    args = parser.parse_args(argv)
    try:
        job = prepare(args.deployment, args.inputs, args.output_dir)
    except AzureMLConfigurationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if job.missing_packages:
        print(f"warning: {_missing_note(job.missing_packages)}", file=sys.stderr, flush=True)
    summary = run(job, max_workers=args.max_workers, on_log=(lambda _: None) if args.quiet else sys.stderr.write)
    print(summary.render())
    return 0 if summary.status == JobStatus.COMPLETED else 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
