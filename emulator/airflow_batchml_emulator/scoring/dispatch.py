"""Runs a job's mini-batches on its worker processes: one slot thread per worker, retries, timeouts, stop.

Each slot owns one worker process and takes mini-batches from a shared queue. A mini-batch that raises,
returns too few rows or times out is retried up to ``max_retries`` times (a timed-out or dead worker is
replaced first); after the last attempt its files count as failed. Going over ``error_threshold`` stops
the whole job: nothing new is scheduled and the workers are killed, as is a cancel.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from airflow_batchml_emulator.scoring.joblog import JobLog
from airflow_batchml_emulator.scoring.plan import JobProgress, MiniBatch
from airflow_batchml_emulator.scoring.pool import WorkerConfig, WorkerFatal, WorkerProcess

ProgressCallback = Callable[[int, int, int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """``retry_settings``: ``max_retries`` retries after the first attempt, ``timeout`` seconds per call."""

    max_retries: int
    timeout: float


class Dispatcher:
    """Executes mini-batches for one job and records the outcome in ``progress``.

    :param config: how to start a worker.
    :param workers: number of worker processes (slots) to run.
    :param on_progress: called with ``(done, total, failed_files)`` after each finished mini-batch.
    """

    def __init__(
        self,
        config: WorkerConfig,
        workers: int,
        retry: RetryPolicy,
        progress: JobProgress,
        job_log: JobLog,
        on_progress: ProgressCallback,
    ) -> None:
        self._config = config
        self._workers = workers
        self._retry = retry
        self._progress = progress
        self._log = job_log
        self._on_progress = on_progress
        self._queue: deque[MiniBatch] = deque()
        self._lock = threading.Lock()
        self._live: set[WorkerProcess] = set()
        self._stopping = threading.Event()
        self.fatal: WorkerFatal | None = None

    def run(self, batches: Sequence[MiniBatch]) -> None:
        """Process all ``batches`` (or until stopped) and return once every worker has exited."""
        self._queue.extend(batches)
        slots = [
            threading.Thread(target=self._slot, args=(i,), name=f"batch-slot-{i}", daemon=True)
            for i in range(min(self._workers, len(batches)))
        ]
        for slot in slots:
            slot.start()
        for slot in slots:
            slot.join()

    def stop(self) -> None:
        """Schedule nothing more and kill every worker now; safe to call from any thread."""
        with self._lock:
            self._stopping.set()
            workers = list(self._live)
        for worker in workers:
            worker.signal_kill()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _slot(self, slot_id: int) -> None:
        worker: WorkerProcess | None = None
        try:
            while (batch := self._next_batch()) is not None:
                worker = self._process(slot_id, batch, worker)
        except WorkerFatal as err:
            if not self.stopping:
                self.fatal = err
                self.stop()
        finally:
            if worker is not None:
                self._retire(worker, graceful=not self.stopping)

    def _next_batch(self) -> MiniBatch | None:
        with self._lock:
            if self._stopping.is_set() or not self._queue:
                return None
            return self._queue.popleft()

    def _process(self, slot_id: int, batch: MiniBatch, worker: WorkerProcess | None) -> WorkerProcess | None:
        """Run one mini-batch with retries; return the worker to reuse (``None`` if it had to go)."""
        attempts = self._retry.max_retries + 1
        error = ""
        for attempt in range(1, attempts + 1):
            worker = worker or self._start_worker(slot_id)
            outcome = worker.run(batch.index, batch.files, self._retry.timeout)
            if self.stopping:
                return worker
            if outcome is not None and outcome.ok:
                self._log.debug("Mini-batch %d: %d row(s) from %d file(s)", batch.index, outcome.rows, len(batch.files))
                self._finish(self._progress.record_success, batch, outcome.text)
                return worker
            if outcome is None:
                error = f"run() did not return within the timeout of {self._retry.timeout:g}s; worker killed"
            else:
                error = outcome.error
            if outcome is None or not worker.alive:
                self._retire(worker, graceful=False)
                worker = None
            self._log.warning("Mini-batch %d attempt %d/%d failed: %s", batch.index, attempt, attempts, error)
        self._log.error(
            "Mini-batch %d failed after %d attempt(s); %d file(s) count as failed",
            batch.index,
            attempts,
            len(batch.files),
        )
        self._finish(self._progress.record_failure, batch, error)
        if self._progress.over_threshold:
            self.stop()
        return worker

    def _finish(self, record: Callable[[MiniBatch, str], tuple[int, int, int]], batch: MiniBatch, value: str) -> None:
        """Record a finished mini-batch and report progress in order (the lock keeps reports monotonic)."""
        with self._lock:
            self._on_progress(*record(batch, value))

    def _start_worker(self, slot_id: int) -> WorkerProcess:
        """Start and initialise a worker for ``slot_id``; raise ``WorkerFatal`` if it cannot serve."""
        worker = WorkerProcess(self._config, lambda line: self._log.script_output(slot_id, line))
        with self._lock:
            self._live.add(worker)
            if self._stopping.is_set():
                worker.signal_kill()
        self._log.debug("Worker %d started (pid %d)", slot_id, worker.pid)
        try:
            worker.initialise()
        except WorkerFatal:
            self._retire(worker, graceful=False)
            raise
        return worker

    def _retire(self, worker: WorkerProcess, *, graceful: bool) -> None:
        with self._lock:
            self._live.discard(worker)
        if graceful:
            worker.stop()
        else:
            worker.kill()
