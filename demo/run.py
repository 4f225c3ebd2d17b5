"""``make demo``: the main job, end to end on the embedded default (Azurite + the Azure ML emulator).

Starts Azurite and the emulator on loopback, seeds the digits data (trains the models, writes the test
images into storage), runs the digit-classification DAG with ``airflow dags test`` on the deferrable
path, prints a short summary, and stops what it started. Exits non-zero if the DAG fails or the
accuracy is below 0.9.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "digits_batch_scoring"
SUMMARY = re.compile(r"DEMO SUMMARY (\{.*\})")


def airflow(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-6000:] + result.stderr[-6000:])
        raise SystemExit(f"airflow {' '.join(args)} failed with exit code {result.returncode}")
    return result.stdout + result.stderr


def main() -> int:
    from airflow_batchml_emulator.stack import LocalStack, dags_test_env

    started = time.monotonic()
    state = ROOT / ".state" / f"demo-{int(time.time())}"
    with LocalStack(state) as stack:
        connections = stack.emulator.airflow_env()
        os.environ.update(connections)
        sys.path.insert(0, str(ROOT / "dags"))
        from digits.seed import seed

        images = seed()
        env = dags_test_env(state / "airflow", ROOT / "dags", **connections)
        airflow(env, "db", "migrate")
        output = airflow(env, "dags", "test", DAG_ID)
        match = SUMMARY.search(output)
        if not match:
            sys.stderr.write(output[-6000:])
            raise SystemExit("the DAG ran but printed no summary")
        summary = json.loads(match.group(1))
        job = _emulator_job(stack, summary["job_name"])
    progress = job["progress"] or {}
    rows = [
        ("endpoint", "digits-batch"),
        ("deployment", summary["deployment"]),
        ("job", summary["job_name"]),
        ("files scored", f"{summary['files_scored']} of {images}"),
        ("mini-batches", f"{progress.get('done')} of {progress.get('total')}"),
        ("accuracy", f"{summary['accuracy']:.3f}"),
        ("wall time", f"{time.monotonic() - started:.1f} s"),
    ]
    print("\nairflow-batchml demo: digits batch scoring on the local emulator")
    for key, value in rows:
        print(f"  {key:<14} {value}")
    return 0 if summary["accuracy"] >= 0.9 else 1


def _emulator_job(stack, job_name: str) -> dict:
    """The emulator's own record of the job (progress), through its token-protected admin route."""
    import requests

    extra = stack.emulator.connection["extra"]
    response = requests.get(
        f"{stack.emulator.url}/_emulator/jobs",
        headers={"Authorization": f"Bearer {extra['token']}"},
        verify=extra["ca_bundle"],
        timeout=30,
    )
    return next(job for job in response.json()["value"] if job["name"] == job_name)


if __name__ == "__main__":
    sys.exit(main())
