"""Change detection as the folder grows: the listing trigger against the Event Grid trigger, in one run.

One Azurite (blob and queue services in one process) holds folders of 1,000, 50,000 and 200,000 blobs
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

How the folders are filled. Uploading them is quadratic in Azurite: every Put Blob looks the blob up
with ``findOne`` on account, container and name (``LokiBlobMetadataStore.createBlob``), which LokiJS
answers from its index on the account alone, then scanning every blob of the account (50,000 uploads
took about 45 minutes here; 200,000 would take many hours). So by default (``--fill preseed``) Azurite
keeps its data on disk and each folder is written into its database: Azurite stops (saving it), takes
a real upload of the folder's first blob, ``azurite_preseed.py`` adds the other records as copies of
it with LokiJS's own batch insert and serializer (unique names and etags), and Azurite starts again on
that database, as after any restart (200,000 blobs: 1-3 minutes). Folders are added one at a time,
each just before it is measured, so as before the account holds only the folders measured so far.
``--fill upload`` uploads them instead (``blob_seed.py``, Azurite in memory), for small sizes.

On disk, Azurite (LokiJS autosave) serializes its whole blob database within 5 s of any write, which
blocks it for a time that grows with every blob of the account (2-3 s at 251,000 blobs). Once per
folder the script measures that block (the longest reply to a cheap request while Azurite saves after
one overwrite) and prints it under the table. It falls inside the listing trigger's latency window
(writes -> detection); the Event Grid latency is timed without it (the publisher sends the events
once Azurite has saved and then stayed quiet for 8 s, and the clock starts at the last event sent).
The queue is on disk too (Azurite's default). The results file is rewritten after every size, so a
run cut short keeps the sizes it measured. Develop with small sizes.

    .venv/bin/python benchmarks/change_detection_scale.py [--sizes 1000,50000,200000] [--changed 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.azurite_preseed import BLOB_DB, preseed  # noqa: E402
from benchmarks.blob_seed import seed  # noqa: E402
from benchmarks.publish import publish  # noqa: E402

QUEUE, CONN_ID = "scale-events", "scale_wasb"
BODY = b"a,b\n1,2\n"
QUIET = 8.0  # seconds without a save of Azurite's blob database: longer than LokiJS's autosave interval (5 s)


def container_of(size: int) -> str:
    """One container per folder size: Azurite's listing slows with the size of the whole container."""
    return f"scale-{size}"


class Azurite:
    """One ``azurite`` process serving blob and queue on fixed free loopback ports, restartable; data in
    memory (``data`` None) or on disk in ``data``; log in ``location``."""

    def __init__(self, location: Path, data: Path | None) -> None:
        from airflow_batchml_emulator.stack import free_port

        self.location, self.data, self.proc = location, data, None
        self.blob, self.queue, self.table = free_port(), free_port(), free_port()

    def start(self) -> None:
        from airflow_batchml_emulator.stack import wait_listening

        self.location.mkdir(parents=True, exist_ok=True)
        args = ["--blobHost", "127.0.0.1", "--blobPort", str(self.blob), "--queueHost", "127.0.0.1"]
        args += ["--queuePort", str(self.queue), "--tableHost", "127.0.0.1", "--tablePort", str(self.table)]
        args += ["--inMemoryPersistence"] if self.data is None else ["--location", str(self.data)]
        args += ["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
        log = (self.location / "azurite.log").open("a")
        binary = str(ROOT / "node_modules" / ".bin" / "azurite")
        self.proc = subprocess.Popen([binary, *args], stdout=log, stderr=log)
        wait_listening(self.blob, self.proc, "Azurite blob")
        wait_listening(self.queue, self.proc, "Azurite queue")

    def stop(self) -> None:
        from airflow_batchml_emulator.stack import stop_process

        code, self.proc = stop_process(self.proc), None
        if code not in (0, None):
            raise RuntimeError(f"Azurite exited with {code}; see {self.location / 'azurite.log'}")

    def db_stamp(self) -> tuple[int, int, int] | None:
        """Identity of the blob database file (LokiJS saves to a temporary file and renames it over)."""
        if self.data is None:
            return None
        stat = (self.data / BLOB_DB).stat()
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    async def saved(self, before: tuple[int, int, int] | None, timeout: float = 120.0) -> None:
        """Wait until the blob database was saved after ``before`` and then not again for ``QUIET`` s."""
        if self.data is None:
            return
        last, changed, deadline = before, None, time.monotonic() + timeout
        while changed is None or time.monotonic() - changed < QUIET:
            stamp = self.db_stamp()
            if stamp != last:
                last, changed = stamp, time.monotonic()
            if time.monotonic() > deadline:
                raise RuntimeError("Azurite did not save its blob database after the writes")
            await asyncio.sleep(0.05)


def blob_name(size: int, index: int) -> str:
    return f"n{size}/blob-{index:07d}.csv"


async def upload(container, names: list[str], payload: bytes, concurrency: int = 64) -> None:
    names_left = iter(names)

    async def worker() -> None:
        for name in names_left:
            await container.upload_blob(name, payload, overwrite=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def seed_folder(container, size: int, args: argparse.Namespace) -> float:
    """Seed the folder by uploads (``--fill upload``); the seconds seeding took."""
    names = [blob_name(size, i) for i in range(size)]
    seconds = await seed(args.blob_endpoint, container.container_name, names, BODY)
    print(f"seeded {size:,} blobs in n{size}/ in {seconds:.0f} s ({size / seconds:.0f} blobs/s)")
    return seconds


def preseed_folder(azurite: Azurite, size: int) -> float:
    """Stop Azurite, write the folder into its database (``azurite_preseed.py``), start it again; the
    seconds all that took."""
    started = time.perf_counter()
    azurite.stop()
    counts = preseed(azurite.data, {container_of(size): [blob_name(size, i) for i in range(size)]}, BODY)
    assert counts == {container_of(size): size}, counts
    azurite.start()
    seconds = time.perf_counter() - started
    print(f"filled n{size}/ with {size:,} blobs in {seconds:.0f} s (written into Azurite's database, restarted)")
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


async def event_grid_figures(client, queue, size: int, args: argparse.Namespace, azurite: Azurite) -> dict[str, float]:
    from airflow_batchml.hooks.blob_queue import BlobQueueHook
    from airflow_batchml.triggers.blob_events import EventGridBlobTrigger
    from tests.support.event_grid import EventGridPublisher

    container = client.get_container_client(container_of(size))
    publisher = EventGridPublisher(queue)
    names = [blob_name(size, args.changed + i) for i in range(args.changed)]

    async def write_changes() -> None:
        before = azurite.db_stamp()
        await upload(container, names, b"changed again\n")
        await azurite.saved(before)  # Azurite's autosave of its blob database: not part of the delivery
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


async def autosave_block(container, azurite: Azurite, name: str) -> float | None:
    """The longest reply to a cheap request (container properties) while Azurite saves its blob database
    after one overwrite of ``name`` (None with the data in memory)."""
    if azurite.data is None:
        return None
    before = azurite.db_stamp()
    await container.upload_blob(name, b"changed for the autosave probe\n", overwrite=True)
    longest, deadline = 0.0, time.monotonic() + 60
    while azurite.db_stamp() == before and time.monotonic() < deadline:
        started = time.perf_counter()
        await container.get_container_properties()
        longest = max(longest, time.perf_counter() - started)
        await asyncio.sleep(0.02)
    await azurite.saved(before)
    return longest


async def drain(hook, trigger) -> None:
    """Delete what the latency run left (its last hand-over is deleted only on the next cycle)."""
    queue = await hook.get_queue_client(trigger.queue_name)
    await queue.clear_messages()


async def measure(connection_string: str, args: argparse.Namespace, azurite: Azurite) -> list[dict[str, float]]:
    rows = []
    for size in args.sizes:
        filled = preseed_folder(azurite, size) if args.fill == "preseed" else None
        rows.append(await measure_size(connection_string, args, azurite, size, filled))
        report(rows, args)
    return rows


async def measure_size(
    connection_string: str, args: argparse.Namespace, azurite: Azurite, size: int, filled: float | None
) -> dict[str, float]:
    """One folder's figures, on fresh clients (Azurite may have been restarted)."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob.aio import BlobServiceClient
    from azure.storage.queue.aio import QueueClient

    async with (
        BlobServiceClient.from_connection_string(connection_string) as client,
        QueueClient.from_connection_string(connection_string, QUEUE) as queue,
    ):
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        await queue.clear_messages()
        container = client.get_container_client(container_of(size))
        if filled is None:
            with contextlib.suppress(ResourceExistsError):
                await client.create_container(container_of(size))
            filled = await seed_folder(container, size, args)
        await asyncio.sleep(args.settle + 1)  # "unchanged" means older than the listing trigger's settle window
        started = time.perf_counter()
        listing = await listing_figures(client, size, args)
        events = await event_grid_figures(client, queue, size, args, azurite)
        block = await autosave_block(container, azurite, blob_name(size, size - 1))
        row = {"size": size, "seeded": filled, **{f"listing_{k}": v for k, v in listing.items()}, **events}
        row["account"] = sum(s for s in args.sizes if s <= size)
        if block is not None:
            row["autosave"] = block
        print(
            f"n={size}: listing {listing}, event grid {events}, autosave block {block}, "
            f"measured in {time.perf_counter() - started:.0f} s"
        )
        return row


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
    if args.fill == "upload":
        lines += ["", f"Seeding the folders (Azurite-bound, on the shared machine): {seeded}."]
    else:
        lines += [
            "",
            "Filling the folders (records written into Azurite's own database by `azurite_preseed.py`, Azurite "
            f"stopped and restarted on it; uploading is quadratic in Azurite): {seeded}.",
        ]
    blocks = [row for row in rows if "autosave" in row]
    if blocks:
        each = ", ".join(f"{row['autosave']:.2f} s with {row['account']:,} blobs in the account" for row in blocks)
        lines += [
            "",
            "Azurite keeps its data on disk here and rewrites its whole blob database within 5 s of a write, "
            f"blocking for (longest reply to a cheap request during one save): {each}. The block falls inside "
            "the listing latency window; the Event Grid latency is timed after it.",
        ]
    publish("change_detection_scale", lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,50000,200000", help="folder sizes, comma-separated")
    parser.add_argument(
        "--fill",
        choices=["preseed", "upload"],
        default="preseed",
        help="write the folders into Azurite's on-disk database (default) or upload them (Azurite in memory)",
    )
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="longest wait for one detection")
    parser.add_argument(
        "--location",
        type=Path,
        default=Path("/tmp/airflow-batchml-bench/azurite-scale"),
        help="log, and Azurite's data (data/, emptied first) with --fill preseed",
    )
    args = parser.parse_args()
    args.sizes = sorted(int(size) for size in args.sizes.split(","))
    if min(args.sizes) < 2 * args.changed:
        parser.error(f"every size must hold at least {2 * args.changed} blobs (two rounds of --changed)")
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("airflow").setLevel(logging.WARNING)
    from airflow_batchml_emulator.stack import ACCOUNT_NAME, azurite_connection_string

    data = None
    if args.fill == "preseed":
        data = args.location / "data"
        shutil.rmtree(data, ignore_errors=True)
    azurite = Azurite(args.location, data)
    azurite.start()
    args.blob_endpoint = f"http://127.0.0.1:{azurite.blob}/{ACCOUNT_NAME}"
    connection_string = (
        f"{azurite_connection_string(azurite.blob)}QueueEndpoint=http://127.0.0.1:{azurite.queue}/devstoreaccount1;"
    )
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "wasb", "extra": {"connection_string": connection_string}}
    )
    started = time.perf_counter()
    try:
        asyncio.run(measure(connection_string, args, azurite))
    finally:
        azurite.stop()
        print(f"whole run: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
