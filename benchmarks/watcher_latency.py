"""Watcher latency: a blob uploaded -> the DAG run it starts, through the AssetWatcher path.

Starts PostgreSQL, Azurite, the emulator and a real Airflow 3 (api-server, scheduler, dag-processor,
triggerer; the end-to-end infrastructure of ``tests/e2e``) once, with the ``digits_on_blob_change``
watcher polling ``digits/incoming/`` every ``--poll-interval`` seconds. Once the watcher's first listing
is done, each sample waits a random part of a poll interval (so uploads land at every phase of the poll),
uploads a new ``*.png`` blob and records when the upload returned, then polls the REST API every 0.1 s for
the new run. Per sample: upload -> asset event (the trigger's event, server clock), upload -> run queued
(the run's ``queued_at``) and upload -> run seen by the client. Median and max against poll interval + 2 s
(Azure ML SDK v1 change schedules polled in minutes). The run's scoring task needs the ``digits-batch``
endpoint, which is not created here: runs fail at that task, and each is left to finish before the next
upload so its tasks do not load the machine during the next sample. Everything started is stopped by pid.

    .venv/bin/python benchmarks/watcher_latency.py [--samples 5] [--poll-interval 2]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.airflow_cluster import PASSWORD, USERNAME, AirflowCluster  # noqa: E402
from tests.e2e.api import AirflowApi, wait_for  # noqa: E402
from tests.e2e.postgres import PostgresServer  # noqa: E402

DAG_ID = "digits_on_blob_change"
CONTAINER, FOLDER = "azureml-blobstore", "digits/incoming"
CLIENT_POLL = 0.1
RUN_TIMEOUT = 60.0
FINISH_TIMEOUT = 60.0
MARGIN = 2.0


@dataclass
class Sample:
    blob: str
    to_event: float
    to_queued: float
    to_seen: float


def timestamp(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def first_listing_done(cluster: AirflowCluster, postgres: PostgresServer) -> bool:
    """As in ``tests/e2e/test_asset_watcher.py``: the listing request in the triggerer's log, or a watermark."""
    listing = f"/devstoreaccount1/{CONTAINER}?restype="
    return listing in cluster.log_path("triggerer").read_text() or bool(
        postgres.query("SELECT 1 FROM asset_state_store")
    )


def new_run(api: AirflowApi, known: set[str], timeout: float) -> tuple[dict, float]:
    """Poll the runs every 0.1 s until one not in ``known`` appears; the run and when it was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in api.runs(DAG_ID):
            if run["dag_run_id"] not in known:
                return run, time.time()
        time.sleep(CLIENT_POLL)
    raise TimeoutError(f"No new run of {DAG_ID} within {timeout:.0f} s; runs so far: {sorted(known)}")


def wait_finished(api: AirflowApi, run_id: str) -> None:
    """Bounded, best effort: the run's tasks are done, so they do not compete with the next sample."""
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: api.run(DAG_ID, run_id)["state"] in ("success", "failed"), FINISH_TIMEOUT, run_id)


def measure(api: AirflowApi, container, index: int, known: set[str], poll_interval: float) -> Sample:
    """One upload -> run, timed from the moment the upload call returned."""
    time.sleep(random.uniform(0, poll_interval))
    blob = f"{FOLDER}/latency-{index:02d}.png"
    container.upload_blob(blob, b"\x89PNG latency sample %d" % index, overwrite=True)
    uploaded = time.time()
    run, seen = new_run(api, known, poll_interval + RUN_TIMEOUT)
    known.add(run["dag_run_id"])
    events = api.json("GET", f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")["asset_events"]
    event = min(timestamp(e["timestamp"]) for e in events) if events else float("nan")
    wait_finished(api, run["dag_run_id"])
    return Sample(blob, event - uploaded, timestamp(run["queued_at"]) - uploaded, seen - uploaded)


def start(stack: contextlib.ExitStack, state: Path, poll_interval: float) -> tuple[AirflowCluster, PostgresServer, str]:
    """Azurite + emulator, PostgreSQL, a migrated Airflow with all four components, all stopped by ``stack``;
    returns the cluster, the database and Azurite's connection string."""
    from airflow_batchml_emulator.stack import LocalStack

    local = stack.enter_context(LocalStack(state / "stack"))
    postgres = PostgresServer()
    stack.callback(postgres.stop)
    postgres.start()
    cluster = AirflowCluster(state / "airflow", postgres.url, local.emulator.airflow_env())
    cluster.env["DIGITS_WATCH_POLL_INTERVAL"] = f"{poll_interval:g}"
    stack.callback(cluster.stop_all)
    cluster.migrate()
    cluster.start_all()
    return cluster, postgres, local.azurite.connection_string


def run_benchmark(samples: int, poll_interval: float) -> list[Sample]:
    from azure.storage.blob import BlobServiceClient

    with tempfile.TemporaryDirectory(prefix="watcher-latency-") as state, contextlib.ExitStack() as stack:
        cluster, postgres, connection_string = start(stack, Path(state), poll_interval)
        container = BlobServiceClient.from_connection_string(connection_string).get_container_client(CONTAINER)
        if not container.exists():
            container.create_container()
        api = AirflowApi(cluster.url, USERNAME, PASSWORD)
        api.unpause(DAG_ID)
        api.reparse(DAG_ID)  # watchers register when the DAG is parsed
        wait_for(lambda: first_listing_done(cluster, postgres), 120, f"the watcher's first listing of {FOLDER}/")
        known = {run["dag_run_id"] for run in api.runs(DAG_ID)}
        return [measure(api, container, index, known, poll_interval) for index in range(samples)]


def report(samples: list[Sample], poll_interval: float) -> None:
    target = poll_interval + MARGIN
    print(f"\nblob uploaded -> DAG run created, AssetWatcher path, poll_interval={poll_interval:g} s")
    print("| sample | blob | upload -> asset event | upload -> run queued (server) | upload -> run seen (client) |")
    print("|---|---|---|---|---|")
    for index, sample in enumerate(samples, 1):
        print(
            f"| {index} | {sample.blob} | {sample.to_event:.2f} s | {sample.to_queued:.2f} s | {sample.to_seen:.2f} s |"
        )
    print(f"\n| statistic | run queued (server) | run seen (client) | target <= {target:g} s |")
    print("|---|---|---|---|")
    for name, statistic in (("median", statistics.median), ("max", max)):
        queued = statistic([sample.to_queued for sample in samples])
        seen = statistic([sample.to_seen for sample in samples])
        verdict = "met" if max(queued, seen) <= target else "not met"
        print(f"| {name} | {queued:.2f} s | {seen:.2f} s | {verdict} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    args = parser.parse_args()
    report(run_benchmark(args.samples, args.poll_interval), args.poll_interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
