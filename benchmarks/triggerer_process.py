"""One triggerer of the capacity benchmark: Airflow's own triggerer processes, fed a fixed list of waits.

Airflow's triggerer is two processes: ``TriggerRunnerSupervisor`` (sync; reads the metadata database and
hands ``RunTrigger`` workloads over) and the ``TriggerRunner`` it forks (one asyncio loop running every
trigger). Airflow 3.3 lets a subclass of the supervisor run without a metadata-database ``Job`` when it
overrides ``load_triggers``, ``heartbeat`` and ``metric_tags`` (its docstring says so); this one does, and
hands over ``--count`` ``AzureMLJobTrigger`` workloads shaped as the database would build them (kwargs
Fernet-encrypted, a task instance each). Everything after that is Airflow's code: the fork, the comms
between the two processes, ``create_triggers`` (decrypt, import, instantiate), ``run_trigger``, the
per-trigger log stream back to the supervisor, connection lookups.

The probe: before the fork, ``AzureMLAsyncHook.get_job_status`` is wrapped to note when each trigger's
first status read started and was answered; once every trigger has an answer, the runner writes those
times, its resident memory and CPU seconds, the emulator's and the whole machine's CPU seconds to ``<name>.round.json``.
Files in ``--workdir`` coordinate with ``triggerer_capacity.py``: ``<name>.ready.json`` (the runner's
memory before any trigger), ``go`` (start the triggers), ``<name>.exit.json`` (events and failures).

    python benchmarks/triggerer_process.py --name t1 --first-id 1 --count 2500 --jobs a,b --workdir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 2.0  # after the runner's first message, before its baseline memory is read


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores, every process: ``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = Path("/proc/stat").read_text().split()[1:9]
    return sum(int(v) for v in (user, nice, system, irq, softirq, steal)) / TICKS


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.rename(path)


def install_probe(expected: int, out: Path, emulator_pid: int) -> None:
    """Wrap the status read (inherited by the forked runner) to time every trigger's first read."""
    from airflow_batchml.hooks.azure_ml_async import AzureMLAsyncHook

    original = AzureMLAsyncHook.get_job_status
    reads: dict[int, tuple[float, float]] = {}
    starts: dict[str, tuple[float, float, float, float]] = {}

    def sample() -> tuple[float, float, float, float]:
        times = os.times()
        return time.monotonic(), times.user + times.system, cpu_seconds(emulator_pid), machine_busy_seconds()

    async def probed(self, job_name):
        first = id(self) not in reads and not out.exists()
        started = time.monotonic()
        if first:
            starts.setdefault("round", sample())
        status = await original(self, job_name)
        if first:
            reads[id(self)] = (started, time.monotonic())
            if len(reads) == expected:
                (t0, cpu0, emu0, all0), (t1, cpu1, emu1, all1) = starts["round"], sample()
                rss = psutil.Process().memory_info().rss
                record = {"reads": list(reads.values()), "rss": rss, "start": t0, "end": t1, "runner_cpu": cpu1 - cpu0}
                write_json(out, record | {"emulator_cpu": (emu0, emu1), "machine_busy": (all0, all1)})
        return status

    AzureMLAsyncHook.get_job_status = probed


def build_workloads(first_id: int, count: int, jobs: list[str], poll_interval: float) -> list:
    """``RunTrigger`` workloads as the supervisor builds them from trigger rows of deferred tasks."""
    from airflow.executors import workloads
    from airflow.executors.workloads.task import TaskInstanceDTO
    from airflow.models.trigger import Trigger

    from airflow_batchml.triggers.job import AzureMLJobTrigger

    version = uuid.uuid4()
    built = []
    for index in range(count):
        classpath, kwargs = AzureMLJobTrigger(jobs[index % len(jobs)], poll_interval=poll_interval).serialize()
        ti = TaskInstanceDTO(
            id=uuid.uuid4(),
            task_id="score",
            dag_id="capacity",
            run_id="bench",
            try_number=1,
            dag_version_id=version,
            map_index=first_id + index,
            pool_slots=1,
            priority_weight=1,
        )
        encrypted = Trigger.encrypt_kwargs(kwargs)
        built.append(workloads.RunTrigger(id=first_id + index, classpath=classpath, encrypted_kwargs=encrypted, ti=ti))
    return built


def triggerer_class():
    from airflow.jobs.triggerer_job_runner import TriggerRunnerSupervisor

    class FixedTriggerer(TriggerRunnerSupervisor):
        """The supervisor with its database side replaced: a fixed list of workloads, events only counted."""

        def configure(self, name: str, workdir: Path, pending: list) -> None:
            self.name, self.workdir, self.pending = name, workdir, pending
            self.fired, self.failures, self.ready_at = 0, 0, None

        def load_triggers(self) -> None:
            if self.ready_at is None and self._last_runner_comms != float("inf"):
                self.ready_at = time.monotonic()
            elif self.ready_at and time.monotonic() - self.ready_at > SETTLE_SECONDS:
                ready = self.workdir / f"{self.name}.ready.json"
                if not ready.exists():
                    write_json(ready, {"runner_pid": self.pid, "rss": psutil.Process(self.pid).memory_info().rss})
                elif self.pending and (self.workdir / "go").exists():
                    self.creating_triggers.extend(self.pending)
                    self.pending = []

        def heartbeat(self) -> None:
            """No metadata database to heartbeat into."""

        def metric_tags(self) -> dict[str, str]:
            return {"hostname": self.name}

        def on_trigger_event(self, trigger_id, event) -> None:
            self.fired += 1

        def on_trigger_failure(self, trigger_id, exc) -> None:
            self.failures += 1
            print(f"trigger {trigger_id} failed: {exc}", file=sys.stderr)

        def clean_unused(self) -> None:
            """Nothing to clean: no trigger rows."""

    return FixedTriggerer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--first-id", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--jobs", required=True, help="job names, comma-separated; trigger i waits on job i mod n")
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--emulator-pid", type=int, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import structlog

    pending = build_workloads(args.first_id, args.count, args.jobs.split(","), args.poll_interval)
    install_probe(args.count, args.workdir / f"{args.name}.round.json", args.emulator_pid)
    triggerer = triggerer_class().start(job=None, capacity=args.count, logger=structlog.get_logger())
    triggerer.configure(args.name, args.workdir, pending)
    signal.signal(signal.SIGTERM, lambda *_: setattr(triggerer, "stop", True))
    try:
        triggerer.run()
    finally:
        triggerer.kill(escalation_delay=10, force=True)
        write_json(args.workdir / f"{args.name}.exit.json", {"events": triggerer.fired, "failures": triggerer.failures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
