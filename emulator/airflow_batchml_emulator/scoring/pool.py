"""Parent-side handle of one worker process: start it, hand it a mini-batch with a deadline, kill it.

A worker is a ``subprocess`` running ``worker.py`` rather than a ``multiprocessing`` child: it gets its
own environment (``environment_variables``, ``AZUREML_MODEL_DIR``) without touching the server's and it never
re-imports the server's ``__main__``. Each worker leads its own session, and every way a worker ends kills
that whole process group: processes the scoring script started would otherwise outlive the job, holding
the output pipe open. Messages go over two inherited pipes, so one mini-batch round trip costs a pickle each
way (well under a millisecond).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TextIO

from airflow_batchml_emulator.scoring import worker
from airflow_batchml_emulator.scoring.joblog import MAX_LINE_CHARS, clipped

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(worker.__file__)


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker of one job needs to start."""

    script_path: Path
    code_dir: Path
    work_dir: Path
    env: dict[str, str]
    logging_level: str
    init_timeout: float


@dataclass(frozen=True)
class RunOutcome:
    """The answer to one ``run()`` call: rows and rendered text, or an error message."""

    ok: bool
    rows: int = 0
    text: str = ""
    error: str = ""


class WorkerFatal(Exception):
    """The worker cannot serve at all (script missing ``init``/``run``, ``init()`` raised)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WorkerProcess:
    """One live worker: the scoring script imported and ``init()`` done.

    :param config: the job's worker settings.
    :param on_output: called with each line the script prints (stdout and stderr), for the job log.
    """

    def __init__(self, config: WorkerConfig, on_output: Callable[[str], None]) -> None:
        self._config = config
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        self._proc = subprocess.Popen(
            [sys.executable, "-P", str(WORKER_SCRIPT), str(child_in), str(child_out)],
            pass_fds=(child_in, child_out),
            env=config.env,
            cwd=config.work_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        os.close(child_in)
        os.close(child_out)
        self._to_worker = Connection(parent_out, readable=False)
        self._from_worker = Connection(parent_in, writable=False)
        self._reader = threading.Thread(target=self._copy_output, args=(on_output,), daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._proc.pid

    def initialise(self) -> None:
        """Send the init message and wait for ``init()``; raise ``WorkerFatal`` if the script cannot serve."""
        config = self._config
        try:
            self._to_worker.send(("init", str(config.script_path), str(config.code_dir), config.logging_level))
            reply = self._receive(config.init_timeout)
        except (EOFError, OSError) as err:
            raise WorkerFatal(worker.INIT_FAILED, f"the worker process {self._exit_note()} during init()") from err
        if reply is None:
            raise WorkerFatal(worker.INIT_FAILED, f"init() did not finish within {config.init_timeout:g}s")
        if reply[0] == "fatal":
            raise WorkerFatal(reply[1], reply[2])

    def run(self, index: int, files: tuple[str, ...], timeout: float) -> RunOutcome | None:
        """Call ``run(files)`` in the worker; ``None`` when it did not answer within ``timeout`` seconds.

        After ``None`` or a failed outcome from a dead worker the caller replaces the worker.
        """
        try:
            self._to_worker.send(("run", index, files))
            reply = self._receive(timeout)
        except (EOFError, OSError):
            return RunOutcome(ok=False, error=f"the worker process {self._exit_note()} during run()")
        if reply is None:
            return None
        if reply[0] == "ok":
            return RunOutcome(ok=True, rows=reply[2], text=reply[3])
        return RunOutcome(ok=False, error=reply[2])

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._proc.poll() is None

    def signal_kill(self) -> None:
        """Kill the process group without touching the pipes: safe from another thread (cancel, shutdown).

        The thread that owns this worker then sees EOF and calls ``kill()`` to clean up.
        """
        self._kill_group()

    def kill(self) -> None:
        """Stop the worker now (it may be inside a hung ``run()``) and release its pipes."""
        self._kill_group()
        self._proc.wait()
        self._close()

    def stop(self) -> None:
        """Close the request pipe so an idle worker exits by itself, then kill what is left of its group."""
        self._to_worker.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        self._kill_group()
        self._proc.wait()
        self._close()

    def _kill_group(self) -> None:
        """SIGKILL the worker's process group: the worker and whatever its scoring script started."""
        kill_process_group(self._proc.pid)

    def _receive(self, timeout: float) -> tuple | None:
        """The next message, or ``None`` on timeout; ``EOFError`` when the worker died."""
        if not self._from_worker.poll(timeout):
            return None
        return self._from_worker.recv()

    def _exit_note(self) -> str:
        """How the process ended, for messages: its exit code, or the signal that killed it."""
        try:
            code = self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"

    def _copy_output(self, on_output: Callable[[str], None]) -> None:
        """Forward the script's printed lines until the process closes its stdout.

        Lines are read in pieces of at most ``MAX_LINE_CHARS``; of a longer line only its start is forwarded,
        so one huge print costs the server no more memory than a short one.
        """
        stdout = self._proc.stdout
        assert stdout is not None
        while line := stdout.readline(MAX_LINE_CHARS):
            dropped = 0 if line.endswith("\n") else _skip_rest_of_line(stdout)
            on_output(clipped(line.rstrip("\n"), dropped))
        stdout.close()

    def _close(self) -> None:
        for conn in (self._to_worker, self._from_worker):
            conn.close()
        self._reader.join(timeout=5)


def kill_process_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (a process started with ``start_new_session``).

    A group lives on while any member runs, so this also ends the children of a leader that has exited.
    """
    # ProcessLookupError: the group is gone; PermissionError: macOS, for a group of zombies only.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _skip_rest_of_line(stream: TextIO) -> int:
    """Read up to the end of the current line in bounded pieces, dropping them; return how many characters."""
    dropped = 0
    while piece := stream.readline(MAX_LINE_CHARS):
        if piece.endswith("\n"):
            return dropped + len(piece) - 1
        dropped += len(piece)
    return dropped
