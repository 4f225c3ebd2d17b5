"""Triggerer capacity: 1,000 concurrent AzureMLJobTriggers in one event loop against the emulator.

Airflow's triggerer runs up to 1,000 triggers per process in one asyncio loop. This starts Azurite and
the emulator, submits a few long-running batch jobs, then runs N ``AzureMLJobTrigger.run()`` generators
concurrently (each waiting on one of those jobs) and measures, in one run:

- memory per trigger: growth of the process's resident memory (and of Python allocations, tracemalloc)
  from before the triggers start to after every one has polled once, divided by N (target <= 100 KB);
- one poll round: from the moment the first trigger starts its first status read to the moment the last
  one has its answer, against the poll interval (target: well under it). Each trigger sleeps one
  interval before its first read (see ``AzureMLJobTrigger._wait``); that sleep is waiting, not polling,
  so the round is timed from the reads themselves, not from the start of the triggers.

    .venv/bin/python benchmarks/triggerer_capacity.py [--triggers 1000] [--poll-interval 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.publish import publish  # noqa: E402

HANGING_SCRIPT = """
import time
def init():
    pass
def run(mini_batch):
    time.sleep(3600)
    return list(mini_batch)
"""


def rss_kib() -> int:
    """Current resident set size (Linux /proc), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def submit_jobs(count: int, folder: Path) -> list[str]:
    """A deployment whose run() hangs, and ``count`` jobs on it that stay Running/Queued."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    from airflow_batchml.hooks.azure_ml import AzureMLHook
    from tests.integration.hooks.conftest import deploy_script, upload_inputs

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


async def measure(job_names: list[str], triggers: int, poll_interval: float) -> dict[str, float]:
    from airflow_batchml.hooks.azure_ml_async import AzureMLAsyncHook
    from airflow_batchml.triggers.job import AzureMLJobTrigger

    read_starts: list[float] = []
    first_reads: list[float] = []
    original = AzureMLAsyncHook.get_job_status

    async def recording(self, job_name):  # the benchmark's probe: when each first read began and landed
        read_starts.append(time.perf_counter())
        status = await original(self, job_name)
        first_reads.append(time.perf_counter())
        return status

    AzureMLAsyncHook.get_job_status = recording
    await asyncio.sleep(0)
    rss_before, (traced_before, _) = rss_kib(), tracemalloc.get_traced_memory()
    tasks = [
        asyncio.create_task(anext(AzureMLJobTrigger(job_names[i % len(job_names)], poll_interval=poll_interval).run()))
        for i in range(triggers)
    ]
    while len(first_reads) < triggers:
        if any(task.done() for task in tasks):
            failed = next(task for task in tasks if task.done())
            raise RuntimeError(f"a trigger ended early: {failed.result().payload}")
        await asyncio.sleep(0.05)
    round_seconds = max(first_reads) - min(read_starts)
    rss_after, (traced_after, _) = rss_kib(), tracemalloc.get_traced_memory()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "rss_per_trigger_kib": (rss_after - rss_before) / triggers,
        "traced_per_trigger_kib": (traced_after - traced_before) / 1024 / triggers,
        "round_seconds": round_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    from airflow_batchml.emulator.stack import LocalStack

    with tempfile.TemporaryDirectory(prefix="capacity-") as state, LocalStack(Path(state)) as stack:
        os.environ.update(stack.emulator.airflow_env())
        job_names = submit_jobs(args.jobs, Path(state) / "deployments")
        tracemalloc.start()
        result = asyncio.run(measure(job_names, args.triggers, args.poll_interval))
    ratio = result["round_seconds"] / args.poll_interval
    publish(
        "triggerer_capacity",
        [
            f"{args.triggers} `AzureMLJobTrigger`s in one event loop, {args.jobs} running jobs, emulator on loopback:",
            "",
            "| measure | value | target |",
            "|---|---|---|",
            f"| resident memory per trigger | {result['rss_per_trigger_kib']:.1f} KiB | <= 100 KB |",
            f"| Python allocations per trigger (tracemalloc) | {result['traced_per_trigger_kib']:.1f} KiB | |",
            f"| one poll round, all triggers (first read started -> last answer) | {result['round_seconds']:.2f} s = "
            f"{ratio:.2f}x the poll interval ({args.poll_interval:g} s) | well under 1x |",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
