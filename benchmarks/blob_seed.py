"""Fill an Azurite folder with many small blobs quickly, for the change-detection benchmarks.

One Azurite process serves every upload on one Node.js thread, and each upload scans the account's blob
records, so seeding is bound by Azurite and by whatever else the machine runs. The client side should
take as little of the shared CPU as it can: plain ``aiohttp`` PUTs with one container SAS signed once
(the storage SDK signs every request with the account key and runs its policy pipeline, some 3 ms of
Python per upload), many requests in flight.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from airflow_batchml_emulator.stack import ACCOUNT_KEY, ACCOUNT_NAME

BLOB_API_VERSION = "2021-08-06"


async def seed(
    blob_endpoint: str, container: str, names: list[str], body: bytes, concurrency: int = 64, every: int = 10000
) -> float:
    """PUT ``body`` as every blob of ``names``; returns the seconds taken."""
    import aiohttp
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(
        ACCOUNT_NAME,
        container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(write=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=6),
    )
    headers = {"x-ms-blob-type": "BlockBlob", "x-ms-version": BLOB_API_VERSION, "Content-Type": "text/csv"}
    left, done, started = iter(names), 0, time.perf_counter()

    async def put(session: aiohttp.ClientSession, name: str) -> None:
        async with session.put(f"{blob_endpoint}/{container}/{name}?{sas}", data=body, headers=headers) as reply:
            if reply.status != 201:
                raise RuntimeError(f"Put Blob {name} answered {reply.status}: {await reply.text()}")

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        for name in left:
            await put(session, name)
            done += 1
            if done % every == 0:
                elapsed = time.perf_counter() - started
                print(f"  seeded {done:,}/{len(names):,} in {elapsed:.0f} s ({done / elapsed:.0f} blobs/s)", flush=True)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return time.perf_counter() - started
