"""Change detection as the folder grows: the listing trigger against the Event Grid trigger, in one run.

One Azurite (blob and queue services in one process) holds folders of 1,000, 10,000 and 20,000 blobs
(``--sizes``). For each folder, in turn and on the same machine:

- **listing** (``WasbBlobChangeTrigger``): the cost of one poll that finds nothing (the folder listed
  and diffed, median of ``--repeats``), and the detection latency: the trigger runs with
  ``--poll-interval``, ``--changed`` blobs of the folder are overwritten, and the clock runs from the
  last write to the moment the trigger has emitted all of them;
- **Event Grid** (``EventGridBlobTrigger``): the same latency, with the test publisher writing each
  blob's ``BlobCreated`` message to the queue as Event Grid's delivery would; and the cost of one poll
  with the ``--changed`` messages waiting (receive, parse, filter, build records, delete after
  hand-over) and of an empty poll (one queue read), medians of ``--repeats``.

Azurite has no Event Grid: the publisher (``tests/support/event_grid.py``) stands in for it, so the Event Grid
latency here excludes Event Grid's own delivery delay (typically well under a second in Azure).
Seeding is bound by Azurite: its blob store (LokiJS) finds a blob by scanning every blob of the account
(``LokiBlobMetadataStore.createBlob``: ``findOne`` on account, container and name, through the account's
index), so seeding grows with the square of the folder. On this shared 2-core machine 10,000 blobs took
56-123 s, 20,000 took 459 s, and the first 30,000 of 50,000 took 18 minutes (that run was stopped), so
the issue's 50,000 and 200,000 are a ``--sizes`` away but beyond a one-hour run. ``blob_seed.py`` keeps
the client's share of the CPU small, and Azurite keeps its data in memory (``--inMemoryPersistence``: on
disk it rewrites its whole blob database every few seconds, which grows with every blob). Each folder is
measured right after it is seeded and the results file is rewritten after every size, so a run cut
short keeps the sizes it measured. Develop with small sizes.

    .venv/bin/python benchmarks/change_detection_scale.py [--sizes 1000,10000,20000] [--changed 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.blob_seed import seed  # noqa: E402
from benchmarks.publish import publish  # noqa: E402

QUEUE, CONN_ID = "scale-events", "scale_wasb"


def container_of(size: int) -> str:
    """One container per folder size: Azurite's listing slows with the size of the whole container."""
    return f"scale-{size}"


def start_azurite(location: Path) -> tuple[subprocess.Popen, int, int]:
    """One ``azurite`` process serving blob and queue on free loopback ports, data in memory (log in
    ``location``)."""
    from airflow_batchml_emulator.stack import free_port, wait_listening

    location.mkdir(parents=True, exist_ok=True)
    blob, queue, table = free_port(), free_port(), free_port()
    args = ["--blobHost", "127.0.0.1", "--blobPort", str(blob), "--queueHost", "127.0.0.1", "--queuePort", str(queue)]
    args += ["--tableHost", "127.0.0.1", "--tablePort", str(table), "--inMemoryPersistence"]
    args += ["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
    log = (location / "azurite.log").open("a")
    proc = subprocess.Popen([str(ROOT / "node_modules" / ".bin" / "azurite"), *args], stdout=log, stderr=log)
    wait_listening(blob, proc, "Azurite blob")
    wait_listening(queue, proc, "Azurite queue")
    return proc, blob, queue


def blob_name(size: int, index: int) -> str:
    return f"n{size}/blob-{index:07d}.csv"


async def upload(container, names: list[str], payload: bytes, concurrency: int = 64) -> None:
    names_left = iter(names)

    async def worker() -> None:
        for name in names_left:
            await container.upload_blob(name, payload, overwrite=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def seed_folder(container, size: int, args: argparse.Namespace) -> float:
    """Seed the folder and let it settle; the seconds seeding took."""
    names = [blob_name(size, i) for i in range(size)]
    seconds = await seed(args.blob_endpoint, container.container_name, names, b"a,b\n1,2\n")
    print(f"seeded {size:,} blobs in n{size}/ in {seconds:.0f} s ({size / seconds:.0f} blobs/s)")
    await asyncio.sleep(args.settle + 1)  # "unchanged" means older than the listing trigger's settle window
    return seconds


async def collect(generator, wanted: int, records: list[dict]) -> None:
    async for event in generator:
        records.extend(event.payload["blobs"])
        if len(records) >= wanted:
            return


async def latency(trigger, write_changes, wanted: int, timeout: float) -> float:
    """Seconds from the last change written to all ``wanted`` records emitted by an already running trigger."""
    records: list[dict] = []
    generator = trigger.run()
    runner = asyncio.create_task(collect(generator, wanted, records))
    try:
        await asyncio.sleep(0.5)  # the trigger is running (listing: its baseline is the given state)
        await write_changes()
        written = time.perf_counter()
        await asyncio.wait_for(runner, timeout)
        return time.perf_counter() - written
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await generator.aclose()


async def listing_figures(client, size: int, args: argparse.Namespace) -> dict[str, float]:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbAsyncHook

    from airflow_batchml.triggers.blob_changes import WasbBlobChangeTrigger, close_hook

    container = client.get_container_client(container_of(size))
    options = {"wasb_conn_id": CONN_ID, "settle_seconds": args.settle}
    trigger = WasbBlobChangeTrigger(container_of(size), f"n{size}/", poll_interval=args.poll_interval, **options)
    hook = WasbAsyncHook(wasb_conn_id=CONN_ID)
    try:
        baseline, _ = await trigger.poll(hook, None)
        costs = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            changes, _ = await trigger.poll(hook, baseline.state)
            costs.append(time.perf_counter() - started)
            assert not changes.changed, "the folder changed under the benchmark"
    finally:
        await close_hook(hook)
    names = [blob_name(size, i) for i in range(args.changed)]
    running = WasbBlobChangeTrigger(
        container_of(size), f"n{size}/", poll_interval=args.poll_interval, state=baseline.state, **options
    )
    seconds = await latency(running, lambda: upload(container, names, b"changed\n"), args.changed, args.timeout)
    return {"poll": statistics.median(costs), "latency": seconds}


async def event_grid_figures(client, queue, size: int, args: argparse.Namespace) -> dict[str, float]:
    from airflow_batchml.hooks.blob_queue import BlobQueueHook
    from airflow_batchml.triggers.blob_events import EventGridBlobTrigger
    from tests.support.event_grid import EventGridPublisher

    container = client.get_container_client(container_of(size))
    publisher = EventGridPublisher(queue)
    names = [blob_name(size, args.changed + i) for i in range(args.changed)]

    async def write_changes() -> None:
        await upload(container, names, b"changed again\n")
        for name in names:
            await publisher.created(container.get_blob_client(name))

    def trigger() -> EventGridBlobTrigger:
        return EventGridBlobTrigger(
            QUEUE, container_of(size), f"n{size}/", wasb_conn_id=CONN_ID, poll_interval=args.poll_interval
        )

    seconds = await latency(trigger(), write_changes, args.changed, args.timeout)
    hook = BlobQueueHook(CONN_ID)
    busy, empty = [], []
    try:
        await drain(hook, trigger())
        for _ in range(args.repeats):
            for name in names:
                await publisher.created(container.get_blob_client(name))
            busy.append(await one_poll(hook, trigger(), args.changed))
            empty.append(await one_poll(hook, trigger(), 0))
    finally:
        await hook.close()
    return {"latency": seconds, "poll": statistics.median(busy), "empty": statistics.median(empty)}


async def one_poll(hook, trigger, expected: int) -> float:
    """One cycle's queue work: receive and sort, build the events, delete what was handed over."""
    started = time.perf_counter()
    batch = await trigger.poll(hook)
    events = trigger.build_events(batch, hook.blob_account_url)
    queue = await hook.get_queue_client(trigger.queue_name)
    for message, _ in batch.wanted:
        await queue.delete_message(message)
    elapsed = time.perf_counter() - started
    assert sum(len(e["blobs"]) for e in events) == expected, (expected, batch)
    return elapsed


async def drain(hook, trigger) -> None:
    """Delete what the latency run left (its last hand-over is deleted only on the next cycle)."""
    queue = await hook.get_queue_client(trigger.queue_name)
    await queue.clear_messages()


async def measure(connection_string: str, args: argparse.Namespace) -> list[dict[str, float]]:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob.aio import BlobServiceClient
    from azure.storage.queue.aio import QueueClient

    rows = []
    async with (
        BlobServiceClient.from_connection_string(connection_string) as client,
        QueueClient.from_connection_string(connection_string, QUEUE) as queue,
    ):
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        await queue.clear_messages()
        for size in args.sizes:
            with contextlib.suppress(ResourceExistsError):
                await client.create_container(container_of(size))
            seeded = await seed_folder(client.get_container_client(container_of(size)), size, args)
            started = time.perf_counter()
            listing = await listing_figures(client, size, args)
            events = await event_grid_figures(client, queue, size, args)
            row = {"size": size, "seeded": seeded, **{f"listing_{k}": v for k, v in listing.items()}, **events}
            rows.append(row)
            print(
                f"n={size}: listing {listing}, event grid {events}, measured in {time.perf_counter() - started:.0f} s"
            )
            report(rows, args)
    return rows


def report(rows: list[dict], args: argparse.Namespace) -> None:
    """Write the results file from the sizes measured so far (rewritten after each size)."""
    small, largest = rows[0], rows[-1]
    later = [f"{size:,}" for size in args.sizes if size > largest["size"]]
    lines = [
        f"{args.changed} changed blobs per folder, poll interval {args.poll_interval:g} s, one Azurite "
        f"(blob + queue), medians of {args.repeats} polls; Event Grid's delivery played by the test publisher"
        + (f" (not yet measured when this was written: {', '.join(later)} blobs)" if later else "")
        + ":",
        "",
        "| blobs in folder | listing: poll | listing: latency | Event Grid: poll "
        f"({args.changed} waiting) | Event Grid: empty poll | Event Grid: latency | poll ratio listing/EG | "
        "latency ratio listing/EG |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['size']:,} | {row['listing_poll']:.3f} s | {row['listing_latency']:.2f} s | {row['poll']:.3f} s"
            f" | {row['empty']:.4f} s | {row['latency']:.2f} s | {row['listing_poll'] / row['poll']:.1f}x"
            f" | {row['listing_latency'] / row['latency']:.1f}x |"
        )
    if len(rows) > 1:
        lines += [
            "",
            f"From {small['size']:,} to {largest['size']:,} blobs: "
            f"listing poll x{largest['listing_poll'] / small['listing_poll']:.1f}, "
            f"listing latency x{largest['listing_latency'] / small['listing_latency']:.1f}, "
            f"Event Grid poll x{largest['poll'] / small['poll']:.2f}, "
            f"Event Grid empty poll x{largest['empty'] / small['empty']:.2f}, "
            f"Event Grid latency x{largest['latency'] / small['latency']:.2f} (flat means about x1).",
        ]
    seeded = ", ".join(f"{row['size']:,} in {row['seeded']:.0f} s" for row in rows)
    lines += ["", f"Seeding the folders (Azurite-bound, on the shared machine): {seeded}."]
    publish("change_detection_scale", lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,20000", help="folder sizes, comma-separated")
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="longest wait for one detection")
    parser.add_argument("--location", type=Path, default=Path("/tmp/airflow-batchml-bench/azurite-scale"), help="log")
    args = parser.parse_args()
    args.sizes = sorted(int(size) for size in args.sizes.split(","))
    if min(args.sizes) < 2 * args.changed:
        parser.error(f"every size must hold at least {2 * args.changed} blobs (two rounds of --changed)")
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("airflow").setLevel(logging.WARNING)
    from airflow_batchml_emulator.stack import ACCOUNT_NAME, azurite_connection_string, stop_process

    proc, blob_port, queue_port = start_azurite(args.location)
    args.blob_endpoint = f"http://127.0.0.1:{blob_port}/{ACCOUNT_NAME}"
    connection_string = (
        f"{azurite_connection_string(blob_port)}QueueEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1;"
    )
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "wasb", "extra": {"connection_string": connection_string}}
    )
    try:
        asyncio.run(measure(connection_string, args))
    finally:
        stop_process(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
