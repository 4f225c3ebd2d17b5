"""Poll cost of WasbBlobChangeTrigger against a raw azure-storage-blob listing of the same folder.

One folder of 50,000 blobs on Azurite, 100 of them overwritten, then in the same run and alternately:
one trigger poll (listing through the provider's ``WasbAsyncHook`` + change detection) and one raw
``ContainerClient.list_blobs`` of the folder. Prints each timing, the median ratio (target <= 1.3x) and
the size of the state the trigger keeps for 50,000 unchanged blobs, next to the naive name->etag map.

Uploading 50,000 blobs takes a while, so the Azurite data directory is kept (``--location``) and the
upload is skipped when the folder is already populated there.

    .venv/bin/python benchmarks/change_poll.py [--blobs 50000] [--changed 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob.aio import BlobServiceClient

ROOT = Path(__file__).resolve().parents[1]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONTAINER, PREFIX, CONN_ID = "bench", "folder/", "bench_wasb"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_azurite(location: Path, port: int) -> subprocess.Popen:
    location.mkdir(parents=True, exist_ok=True)
    args = ["--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location)]
    proc = subprocess.Popen([str(AZURITE), *args, "--skipApiVersionCheck", "--silent", "--disableTelemetry"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("Azurite did not start")


async def count_blobs(container) -> int:
    return sum([1 async for _ in container.list_blobs(name_starts_with=PREFIX)])


async def upload(container, names: list[str], payload: bytes, concurrency: int = 64) -> None:
    queue = iter(names)

    async def worker() -> None:
        for name in queue:
            await container.upload_blob(name, payload, overwrite=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def ensure_folder(client: BlobServiceClient, total: int, settle: float) -> None:
    container = client.get_container_client(CONTAINER)
    with contextlib.suppress(ResourceExistsError):
        await container.create_container()
    present = await count_blobs(container)
    if present >= total:
        print(f"folder already holds {present} blobs (cached), skipping upload")
        return
    started = time.perf_counter()
    await upload(container, [f"{PREFIX}blob-{i:06d}.csv" for i in range(total)], b"a,b\n1,2\n")
    print(f"uploaded {total} blobs in {time.perf_counter() - started:.1f}s")
    await asyncio.sleep(settle + 1)  # "unchanged" means older than the trigger's settle window


async def raw_listing(client: BlobServiceClient) -> float:
    started = time.perf_counter()
    names = [b.name async for b in client.get_container_client(CONTAINER).list_blobs(name_starts_with=PREFIX)]
    elapsed = time.perf_counter() - started
    assert names
    return elapsed


async def trigger_poll(trigger, hook, state) -> tuple[float, object]:
    started = time.perf_counter()
    changes, _ = await trigger.poll(hook, state)
    return time.perf_counter() - started, changes


def state_footprint(state: dict) -> tuple[int, int]:
    """(JSON bytes, Python heap bytes) of a state object, measured on a fresh copy."""
    text = json.dumps(state)
    tracemalloc.start()
    copy = json.loads(text)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del copy
    return len(text), size


async def measure(connection_string: str, args: argparse.Namespace) -> None:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook

    from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger, close_hook

    async with BlobServiceClient.from_connection_string(connection_string) as client:
        await ensure_folder(client, args.blobs, args.settle)
        trigger = WasbBlobChangeTrigger(CONTAINER, PREFIX, wasb_conn_id=CONN_ID, settle_seconds=args.settle)
        hook = WasbAsyncHook(wasb_conn_id=CONN_ID)
        try:
            _, baseline = await trigger_poll(trigger, hook, None)
            naive = {b.name: b.etag async for b in client.get_container_client(CONTAINER).list_blobs(PREFIX)}
            state_json, state_heap = state_footprint(baseline.state)
            naive_json, naive_heap = state_footprint({"v": 1, "etags": naive})
            container = client.get_container_client(CONTAINER)
            await upload(container, [f"{PREFIX}blob-{i:06d}.csv" for i in range(args.changed)], b"changed\n")
            ours, raw = [], []
            for _ in range(args.repeats):
                raw.append(await raw_listing(client))
                elapsed, changes = await trigger_poll(trigger, hook, baseline.state)
                ours.append(elapsed)
                assert len(changes.changed) == args.changed, (len(changes.added), len(changes.modified))
        finally:
            await close_hook(hook)
    report(args, ours, raw, (state_json, state_heap), (naive_json, naive_heap), len(naive))


def report(args, ours, raw, state, naive, listed) -> None:
    ratio = statistics.median(o / r for o, r in zip(ours, raw, strict=True))
    rows = [
        ("blobs in folder / changed", f"{listed} / {args.changed}"),
        ("raw list_blobs (s), per run", ", ".join(f"{t:.3f}" for t in raw)),
        ("trigger poll (s), per run", ", ".join(f"{t:.3f}" for t in ours)),
        ("median ratio poll/raw (target <= 1.3)", f"{ratio:.2f}x"),
        ("state for unchanged folder: JSON / heap", f"{state[0]} B / {state[1]} B"),
        ("naive name->etag map: JSON / heap", f"{naive[0]:,} B / {naive[1]:,} B"),
    ]
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=50_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--location", type=Path, default=Path("/tmp/airflow-batchml-bench/azurite-change-poll"))
    args = parser.parse_args()
    logging.getLogger("azure").setLevel(logging.WARNING)
    port = free_port()
    proc = start_azurite(args.location, port)
    connection_string = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "wasb", "extra": {"connection_string": connection_string}}
    )
    try:
        asyncio.run(measure(connection_string, args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
