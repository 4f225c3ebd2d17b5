"""Parse cost of the example DAGs against equivalent DAGs that use only ``airflow.sdk`` and the standard provider.

The baseline is generated from the examples themselves: one file per example DAG with the same DAG id,
schedule (an asset schedule keeps the asset, without the watcher), params, task ids and dependencies,
where every provider operator becomes an ``EmptyOperator`` and every ``@task`` stays a ``@task``. Both
folders are parsed the way Airflow parses a bundle (``BundleDagBag``; ``dags/`` includes its ``digits/``
helper modules, as the DAG processor sees them), each parse in a fresh interpreter, alternating baseline
and examples for ``--rounds`` rounds. Two figures per parse:

* **process**: wall time of the whole fresh ``python`` process (interpreter + Airflow + the DAG files),
  what a cold ``airflow dags test``, a task process or a parse in a new interpreter pays;
* **parse**: only the ``BundleDagBag`` call, Airflow already imported and its heap ``gc.freeze()``d (what
  the DAG processor pays per file in the parser it forks), the stricter figure.

Bytecode caches are on for both sides, as on a deployed Airflow, whatever ``PYTHONDONTWRITEBYTECODE`` says.

Prints each round, the medians and their ratios (target <= 1.10x).

    .venv/bin/python benchmarks/dag_parse.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
TARGET = 1.10

PARSE = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from airflow.dag_processing.dagbag import BundleDagBag
import gc; gc.freeze()  # as the DAG processor does before it forks a parser (manager.before_run)
imported = time.perf_counter()
bag = BundleDagBag(dag_folder=sys.argv[1], bundle_path=Path(sys.argv[1]))
parsed = time.perf_counter()
assert not bag.import_errors, bag.import_errors
print(json.dumps({"dags": len(bag.dags), "tasks": sum(len(d.tasks) for d in bag.dags.values()),
                  "parse": parsed - imported}))
"""


def parse_once(folder: Path, env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(folder)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"parsing {folder} failed:\n{result.stderr[-3000:]}")
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "process": wall}


def baseline_source(dag) -> str:
    """An equivalent DAG file: same id, schedule, params, tasks and edges; SDK and standard provider only."""
    from airflow.sdk.bases.decorator import DecoratedOperator

    body = []
    for task in dag.tasks:
        name = "t_" + task.task_id
        if isinstance(task, DecoratedOperator):
            body += [
                f"@task(task_id={task.task_id!r})",
                f"def {name}_fn():",
                "    return None",
                f"{name} = {name}_fn()",
            ]
        else:
            body.append(f"{name} = EmptyOperator(task_id={task.task_id!r})")
    for task in dag.tasks:
        body += [f"t_{upstream} >> t_{task.task_id}" for upstream in sorted(task.upstream_task_ids)]
    params = {key: dag.params.get_param(key).value for key in dag.params}
    header = [
        f'"""Baseline for {dag.dag_id}."""',
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "from airflow.sdk import Asset, dag, task",
        "",
        "",
        f"@dag(dag_id={dag.dag_id!r}, schedule={schedule_source(dag)}, catchup=False, params={params!r})",
        "def baseline():",
    ]
    return "\n".join([*header, *("    " + line for line in body), "", "", "baseline()", ""])


def schedule_source(dag) -> str:
    """The DAG's cron expression, or its assets (by name, without watchers), or None."""
    condition = getattr(dag.timetable, "asset_condition", None)
    if condition is not None:
        return "[" + ", ".join(f"Asset({asset.name!r})" for asset in condition.objects) + "]"
    return repr(getattr(dag.timetable, "_expression", None))


def write_baseline(folder: Path) -> int:
    sys.path.insert(0, str(DAGS))
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS)
    for dag in bag.dags.values():
        (folder / f"{dag.dag_id}.py").write_text(baseline_source(dag))
    return len(bag.dags)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
    # Bytecode caches on, as on a deployed Airflow (pip compiles on install; the image ships .pyc files):
    # with PYTHONDONTWRITEBYTECODE set, every parse recompiles every imported module from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="dag-parse-bench-"))
    with tempfile.TemporaryDirectory(prefix="baseline-dags-") as tmp:
        baseline = Path(tmp)
        write_baseline(baseline)
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "examples": []}
        parse_once(DAGS, env)  # warm the file system cache and .pyc files for both sides
        parse_once(baseline, env)
        columns = ("baseline process", "examples process", "baseline parse", "examples parse")
        print(f"{'round':>5}  " + "  ".join(f"{column:>16}" for column in columns))
        for index in range(args.rounds):
            runs["baseline"].append(parse_once(baseline, env))
            runs["examples"].append(parse_once(DAGS, env))
            b, e = runs["baseline"][-1], runs["examples"][-1]
            print(
                f"{index + 1:>5}  {b['process']:>15.3f}s  {e['process']:>15.3f}s"
                f"  {b['parse'] * 1000:>14.1f}ms  {e['parse'] * 1000:>14.1f}ms"
            )
    first = runs["examples"][0]
    print(f"\n{int(first['dags'])} DAGs, {int(first['tasks'])} tasks on each side; medians of {args.rounds} rounds:")
    ok = True
    for figure, unit, scale in (("process", "s", 1), ("parse", "ms", 1000)):
        base = statistics.median(run[figure] for run in runs["baseline"])
        examples = statistics.median(run[figure] for run in runs["examples"])
        ratio = examples / base
        ok = ok and (figure != "process" or ratio <= TARGET)
        print(
            f"  {figure:<8} baseline {base * scale:8.3f} {unit}   examples {examples * scale:8.3f} {unit}"
            f"   ratio {ratio:.2f}x   (+{(examples - base) * scale:.3f} {unit})"
        )
    print(f"target: process ratio <= {TARGET:.2f}x -> {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
