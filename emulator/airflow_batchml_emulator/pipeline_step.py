"""One command step of a pipeline job: stage its code and inputs, run its command as a process, upload outputs.

As Azure ML runs a command component: the command runs through bash in the code folder, with
``${{inputs.x}}`` replaced by the input's local path (data, downloaded from the datastore) or its value
(literals, as text), ``${{outputs.y}}`` by an empty local folder whose files are uploaded to the output's
location once the command exits 0, and ``$[[...]]`` blocks kept only when the optional inputs inside them
are given. Values are shell-quoted, so a literal is one argument whatever it holds. ``python`` is this
interpreter (the environment is recorded, not built; pip packages it declares and this interpreter lacks
are named in the log).

A non-zero exit fails the step with Azure's message for a failed user process, ending in the tail of
what the command wrote to stderr.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

from airflow_batchml_emulator.scoring.joblog import MAX_LINE_CHARS, JobLog, missing_pip_packages
from airflow_batchml_emulator.scoring.pool import kill_process_group
from airflow_batchml_emulator.scoring.spec import ErrorCode, JobError
from airflow_batchml_emulator.storage import JobStorage

PLACEHOLDER = re.compile(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}")
OPTIONAL_BLOCK = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
STDERR_TAIL_LINES = 20
STDERR_TAIL_CHARS = 2000
LOG_NAME = "user_logs/std_log.txt"


class StepProcess:
    """Runs one step in ``work_dir``; ``cancel`` (from another thread) kills its process group."""

    def __init__(self, step: dict[str, Any], work_dir: Path, storage: JobStorage, log: JobLog) -> None:
        self.step = step
        self._work_dir = work_dir
        self._storage = storage
        self._log = log
        self._proc: subprocess.Popen | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.canceled = threading.Event()

    def cancel(self) -> None:
        self.canceled.set()
        if self._proc is not None:
            kill_process_group(self._proc.pid)

    def run(self, upstream: dict[str, Path]) -> None:
        """Stage, run and upload; raises ``JobError`` when the step fails. ``upstream``: node -> its outputs folder."""
        self._describe_environment()
        code_dir = self._stage_code()
        values = self._stage_inputs(upstream)
        outputs = {name: self._work_dir / "outputs" / name for name in self.step["outputs"]}
        for folder in outputs.values():
            folder.mkdir(parents=True, exist_ok=True)
        command = substitute(self.step["command"], values, {k: str(v) for k, v in outputs.items()})
        self._log.info("Running: %s", command)
        code = self._execute(command, code_dir)
        if self.canceled.is_set():
            return
        if code != 0:
            raise JobError(ErrorCode.USER_ERROR, failure_message(command, code, list(self._stderr)))
        for name, folder in outputs.items():
            self._upload(folder, self.step["outputs"][name])

    def _describe_environment(self) -> None:
        environment = self.step.get("environment") or {}
        self._log.info(
            "Environment image %s recorded, not built; the command runs with %s",
            environment.get("image") or "(none)",
            sys.executable,
        )
        if conda_file := environment.get("conda_file"):
            missing = missing_pip_packages(conda_file)
            if missing:
                self._log.warning(
                    "Pip package(s) declared by the environment are not installed here: %s", ", ".join(missing)
                )

    def _stage_code(self) -> Path:
        target = self._work_dir / "code"
        if not self.step.get("code_uri"):
            target.mkdir(parents=True, exist_ok=True)
            return target
        return self._storage.fetch(self._storage.resolve(self.step["code_uri"]), target, "uri_folder")

    def _stage_inputs(self, upstream: dict[str, Path]) -> dict[str, str]:
        values = {}
        for name, item in self.step["inputs"].items():
            if item["kind"] == "literal":
                values[name] = item["value"]
            elif item["kind"] == "step":
                values[name] = str(upstream[item["node"]] / item["output"])
            else:
                dest = self._work_dir / "inputs" / name
                values[name] = str(self._storage.fetch(self._storage.resolve(item["uri"]), dest, item["type"]))
        return values

    def _execute(self, command: str, code_dir: Path) -> int:
        """Run the command in its own process group, its output going to the step's log line by line."""
        env = {**os.environ, **{k: str(v) for k, v in self.step.get("environment_variables", {}).items()}}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self._proc = subprocess.Popen(
            ["/bin/bash", "-c", command],
            cwd=code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        if self.canceled.is_set():
            kill_process_group(self._proc.pid)
        readers = [
            threading.Thread(target=self._copy, args=(self._proc.stdout, "stdout", None), daemon=True),
            threading.Thread(target=self._copy, args=(self._proc.stderr, "stderr", self._stderr), daemon=True),
        ]
        for reader in readers:
            reader.start()
        code = self._proc.wait()
        kill_process_group(self._proc.pid)  # whatever the command left running in its group
        for reader in readers:
            reader.join(timeout=5)
        return code

    def _copy(self, stream: Any, label: str, tail: deque[str] | None) -> None:
        """Forward the command's lines; a longer line than ``MAX_LINE_CHARS`` comes in pieces (bounded memory)."""
        while line := stream.readline(MAX_LINE_CHARS):
            text = line.rstrip("\n")
            self._log.script_output(label, text)
            if tail is not None:
                tail.append(text)
        stream.close()

    def _upload(self, folder: Path, uri: str) -> None:
        target = self._storage.resolve(uri)
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        for path in files:
            self._storage.upload(path, target.child(path.relative_to(folder).as_posix()))
        self._log.info("Wrote %d file(s) to %s", len(files), uri)


def substitute(command: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The command with its placeholders filled in (shell-quoted); optional blocks kept only when bound."""

    def block(match: re.Match[str]) -> str:
        names = PLACEHOLDER.findall(match.group(1))
        return match.group(1) if all(name in inputs for kind, name in names if kind == "inputs") else ""

    def value(match: re.Match[str]) -> str:
        kind, name = match.groups()
        source = inputs if kind == "inputs" else outputs
        if name not in source:
            raise JobError(ErrorCode.INVALID_SPEC, f"the command uses ${{{{{kind}.{name}}}}}, which nothing binds")
        return shlex.quote(source[name])

    return PLACEHOLDER.sub(value, OPTIONAL_BLOCK.sub(block, command))


def failure_message(command: str, code: int, stderr: list[str]) -> str:
    """Azure ML's message for a user process that failed, with the tail of its stderr as the error."""
    process = shlex.split(command)[0] if command.strip() else "command"
    tail = "\n".join(stderr)[-STDERR_TAIL_CHARS:]
    status = f"status code {code}" if code >= 0 else f"signal {-code}"
    return (
        f"Execution failed. User process '{process}' exited with {status}. "
        f"Please check log file '{LOG_NAME}' for error details. Error: {tail}"
    )
