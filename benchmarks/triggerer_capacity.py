"""Triggerer capacity: 5,000 concurrent job waits over two Airflow triggerers, against the emulator.

Starts Azurite and the emulator, submits ``--jobs`` batch jobs through azure-ai-ml on a deployment whose
``run()`` never returns (the emulator runs four jobs at a time: the first are ``Running``, the rest stay
``Preparing``), then, in one run:

1. **reference**: one triggerer running ``--reference`` waits (Airflow's default capacity, 1,000);
2. **scale**: ``--triggerers`` triggerers running ``--waits`` waits between them, concurrently.

A triggerer here is Airflow's own pair of processes (``TriggerRunnerSupervisor`` and the ``TriggerRunner``
it forks, one asyncio loop): ``benchmarks/triggerer_process.py`` replaces only the supervisor's database
side. Each wait is an ``AzureMLJobTrigger`` with a ``--poll-interval`` of 30 s (the operators' default),
on job ``i mod --jobs``; a job read costs the emulator one keyed row lookup whichever job it names.
Measured per phase:

- memory per wait: growth of the runner's resident memory from before its triggers were handed over to
  after each has read once, divided by its waits (the supervisor's growth shown apart);
- one poll round: from the first trigger's first status read started to the last trigger's first answer,
  against the poll interval. Each trigger sleeps one interval before its first read, and the triggers
  are created one after another, so the round includes the spread of their creation;
- who bounds the round: CPU seconds of the runners and of the emulator (one process serving every read
  over TLS) during it, and of the whole machine. The larger of one runner's and the emulator's CPU time is
  a floor for the round; the runners' is the triggerers' own cost, whatever the server. On a machine
  shared with other work, the machine's busy cores tell whether the rest of the round was waiting for CPU.
- memory per added wait: a runner's growth with the scale phase's waits minus with the reference's, over
  the difference, so what a runner grows by once, whatever its number of waits, cancels out.

    .venv/bin/python benchmarks/triggerer_capacity.py [--waits 5000] [--triggerers 2] [--reference 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.publish import publish  # noqa: E402

KIB = 1024
STARTUP_TIMEOUT = 180.0
ROUND_GRACE = 600.0  # beyond one poll interval, the longest a round may take before the run gives up

HANGING_SCRIPT = """
import time
def init():
    pass
def run(mini_batch):
    time.sleep(3600)
    return list(mini_batch)
"""


def submit_jobs(count: int, folder: Path) -> list[str]:
    """A deployment whose run() hangs, and ``count`` jobs on it that stay Running or Preparing."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    from airflow_batchml.hooks.azure_ml import AzureMLHook
    from tests.support.workspace import deploy_script, upload_inputs

    hook = AzureMLHook(polling_interval=0.5)
    hook.ensure_compute("batch-cluster")
    hook.create_or_update_batch_endpoint("capacity")
    deploy_script(
        hook, folder, "capacity", "hangs", HANGING_SCRIPT, mini_batch_size=1, retry_settings={"timeout": 3600}
    )
    hook.set_default_deployment("capacity", "hangs")
    container = hook.get_client().datastores.get("workspaceblobstore").container_name
    inputs = upload_inputs(WasbHook(wasb_conn_id="wasb_default"), container, "capacity/in", 1)
    return [
        hook.invoke_batch_endpoint("capacity", {"in": inputs}, job_name=f"capacity-{i}")["job_name"]
        for i in range(count)
    ]


def job_statuses(job_names: list[str]) -> dict[str, int]:
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    client = AzureMLHook().get_client()
    counts: dict[str, int] = {}
    for name in job_names:
        status = client.jobs.get(name).status
        status = str(getattr(status, "value", status))
        counts[status] = counts.get(status, 0) + 1
    return counts


def wait_for(paths: list[Path], timeout: float, procs: list[subprocess.Popen]) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not all(path.exists() for path in paths):
        if time.monotonic() > deadline or any(proc.poll() is not None for proc in procs):
            missing = [path.name for path in paths if not path.exists()]
            raise RuntimeError(f"no {', '.join(missing)} within {timeout:g} s (see the triggerer logs)")
        time.sleep(0.2)
    return [json.loads(path.read_text()) for path in paths]


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM (Airflow's graceful triggerer exit), then SIGKILL to the process group of any left."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def run_phase(
    workdir: Path, split: list[int], jobs: list[str], args: argparse.Namespace, env: dict, emulator_pid: int
) -> dict:
    """``len(split)`` triggerers at once, triggerer i running ``split[i]`` waits; their figures combined."""
    workdir.mkdir(parents=True)
    names = [f"t{i + 1}" for i in range(len(split))]
    procs, first = [], 1
    for name, count in zip(names, split, strict=True):
        command = [sys.executable, str(ROOT / "benchmarks" / "triggerer_process.py"), "--name", name]
        command += ["--first-id", str(first), "--count", str(count), "--jobs", ",".join(jobs)]
        command += ["--poll-interval", str(args.poll_interval), "--workdir", str(workdir)]
        command += ["--emulator-pid", str(emulator_pid)]
        log = (workdir / f"{name}.log").open("w")
        procs.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
        first += count
    try:
        ready = wait_for([workdir / f"{n}.ready.json" for n in names], STARTUP_TIMEOUT, procs)
        supervisors = [psutil.Process(proc.pid) for proc in procs]
        before = [(s.memory_info().rss, sum(s.cpu_times()[:2])) for s in supervisors]
        (workdir / "go").touch()
        rounds = wait_for([workdir / f"{n}.round.json" for n in names], args.poll_interval + ROUND_GRACE, procs)
        after = [(s.memory_info().rss, sum(s.cpu_times()[:2])) for s in supervisors]
    finally:
        stop(procs)
    exits = wait_for([workdir / f"{n}.exit.json" for n in names], 30, [])
    return combine(split, ready, rounds, list(zip(before, after, strict=True)), exits)


def combine(split: list[int], ready: list[dict], rounds: list[dict], supervisors: list, exits: list[dict]) -> dict:
    """One phase's figures: memory per wait of the largest, the round over all triggerers, CPU of each."""
    start, end = min(r["start"] for r in rounds), max(r["end"] for r in rounds)

    def spent(key: str) -> float:  # a counter sampled by every runner: first sample to last
        return max(r[key][1] for r in rounds) - min(r[key][0] for r in rounds)

    latencies = sorted(done - began for r in rounds for began, done in r["reads"])
    return {
        "waits": sum(split),
        "triggerers": len(split),
        "per_runner": max(split),
        "runner_growth_kib": max((r["rss"] - b["rss"]) / KIB for r, b in zip(rounds, ready, strict=True)),
        "runner_kib_per_wait": max(
            (r["rss"] - b["rss"]) / KIB / n for r, b, n in zip(rounds, ready, split, strict=True)
        ),
        "supervisor_kib_per_wait": max((a[0] - b[0]) / KIB / n for (b, a), n in zip(supervisors, split, strict=True)),
        "supervisor_cpu": [a[1] - b[1] for b, a in supervisors],
        "round": end - start,
        "own_rounds": [r["end"] - r["start"] for r in rounds],
        "runner_cpu": [r["runner_cpu"] for r in rounds],
        "emulator_cpu": spent("emulator_cpu"),
        "machine_busy": spent("machine_busy"),
        "start_spread": max(b for r in rounds for b, _ in r["reads"]) - start,
        "read_p50": latencies[len(latencies) // 2],
        "read_p99": latencies[int(len(latencies) * 0.99)],
        "read_max": latencies[-1],
        "events": sum(e["events"] for e in exits),
        "failures": sum(e["failures"] for e in exits),
    }


def waiting(phase: dict, cores: int) -> str:
    """What the round spent beyond CPU: waiting for a saturated machine, or queueing in the processes."""
    busy = phase["machine_busy"] / phase["round"]
    during = f"busy {busy:.2f} of {cores} cores during the round"
    if busy >= 0.9 * cores:
        return f"The machine was saturated ({during}): the rest was waiting for CPU."
    return f"The machine had CPU to spare ({during}): the rest was queueing."


def report(phases: list[dict], statuses: dict[str, int], args: argparse.Namespace) -> None:
    reference, scale = phases
    interval, cores = args.poll_interval, os.cpu_count()

    def row(measure: str, cell, target: str = "") -> str:
        return f"| {measure} | {' | '.join(cell(p) for p in phases)} | {target} |"

    def seconds(values: list[float]) -> str:
        return " + ".join(f"{v:.2f}" for v in values) + " s"

    def per_read(p: dict, cpu: float) -> str:
        return f"{1000 * cpu / p['waits']:.2f} ms per read"

    def machine(p: dict) -> str:
        ours = sum(p["runner_cpu"]) + p["emulator_cpu"]
        return f"{p['machine_busy'] / p['round']:.2f} of {cores} cores; runners + emulator {ours / p['round']:.2f}"

    runner_cpu = [sum(p["runner_cpu"]) / p["waits"] for p in phases]
    emulator_cpu = [p["emulator_cpu"] / p["waits"] for p in phases]
    added = scale["per_runner"] - reference["per_runner"]
    marginal = (scale["runner_growth_kib"] - reference["runner_growth_kib"]) / added
    fixed = reference["runner_growth_kib"] - marginal * reference["per_runner"]
    jobs = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    header = " | ".join(
        f"{p['waits']:,} waits, {p['triggerers']} triggerer{'s' * (p['triggerers'] > 1)}" for p in phases
    )
    lines = [
        f"`AzureMLJobTrigger` waits run by Airflow's own triggerer processes (supervisor + forked `TriggerRunner`, "
        f"one asyncio loop each; capacity = its waits, Airflow's default is 1,000), "
        f"poll interval {interval:g} s, on {args.jobs} batch jobs of the emulator ({jobs}); "
        f"{cores}-core machine shared with other sessions (load average {os.getloadavg()[0]:.1f} at the end):",
        "",
        f"| measure | {header} | target |",
        "|---|---|---|---|",
        row("resident memory per wait: runner growth / its waits", lambda p: f"{p['runner_kib_per_wait']:.1f} KiB"),
        row("resident memory per wait: supervisor", lambda p: f"{p['supervisor_kib_per_wait']:.1f} KiB"),
        row(
            "one poll round, all waits (first read started -> last first answer)",
            lambda p: f"{p['round']:.2f} s = {p['round'] / interval:.2f}x the interval",
            "well under 1x",
        ),
        row("the same, each triggerer's own", lambda p: seconds(p["own_rounds"])),
        row("first reads started within (the triggers are created one by one)", lambda p: f"{p['start_spread']:.2f} s"),
        row(
            "one status read, p50 / p99 / max",
            lambda p: f"{p['read_p50']:.2f} / {p['read_p99']:.2f} / {p['read_max']:.2f} s",
        ),
        row(
            "runner CPU during the round",
            lambda p: f"{seconds(p['runner_cpu'])} ({per_read(p, sum(p['runner_cpu']))})",
        ),
        row("supervisor CPU, hand-over -> end of the round", lambda p: seconds(p["supervisor_cpu"])),
        row(
            "emulator CPU during the round (one process)",
            lambda p: f"{p['emulator_cpu']:.2f} s ({per_read(p, p['emulator_cpu'])})",
        ),
        row("whole machine busy during the round (every process)", machine),
        row("trigger events / failures (the jobs never end)", lambda p: f"{p['events']} / {p['failures']}", "0 / 0"),
        "",
        f"{scale['waits']:,} waits over {scale['triggerers']} triggerers vs {reference['waits']:,} in one: "
        f"waits x{scale['waits'] / reference['waits']:.1f}, round x{scale['round'] / reference['round']:.2f}, "
        f"runner CPU per read x{runner_cpu[1] / runner_cpu[0]:.2f}, "
        f"emulator CPU per read x{emulator_cpu[1] / emulator_cpu[0]:.2f}.",
        "",
        f"Memory per wait: **{marginal:.1f} KiB** per added wait (a runner's growth with {scale['per_runner']:,} "
        f"waits minus with {reference['per_runner']:,}, over the {added:,} more; target <= 100 KB), on top of "
        f"a one-off {fixed / KIB:.0f} MiB the runner grows by when its first triggers start.",
        "",
        f"Who bounds the round: for {scale['waits']:,} reads the emulator (one process) spent "
        f"{scale['emulator_cpu']:.2f} s of CPU, the busiest triggerer's runner {max(scale['runner_cpu']):.2f} s "
        f"= {max(scale['runner_cpu']) / interval:.2f}x the interval (its own cost). Either is a floor for the round "
        f"on an idle machine. {waiting(scale, cores)}",
    ]
    publish("triggerer_capacity", lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=5000)
    parser.add_argument("--triggerers", type=int, default=2)
    parser.add_argument("--reference", type=int, default=1000, help="waits of the one-triggerer reference")
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, default=16)
    args = parser.parse_args()
    from cryptography.fernet import Fernet

    from airflow_batchml_emulator.stack import LocalStack

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="capacity-") as state, LocalStack(Path(state)) as stack:
        os.environ.update(stack.emulator.airflow_env())
        jobs = submit_jobs(args.jobs, Path(state) / "deployments")
        print(f"{args.jobs} jobs submitted after {time.monotonic() - started:.0f} s")
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(Path(state) / "airflow"),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        share, rest = divmod(args.waits, args.triggerers)
        split = [share + (i < rest) for i in range(args.triggerers)]
        phases = []
        for name, counts in (("reference", [args.reference]), ("scale", split)):
            phases.append(run_phase(Path(state) / name, counts, jobs, args, env, stack.emulator.proc.pid))
            print(f"{name}: {phases[-1]}")
        statuses = job_statuses(jobs)
    print(f"run took {time.monotonic() - started:.0f} s")
    report(phases, statuses, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
