"""Runs inside one worker process: load the scoring script, ``init()`` once, ``run()`` per mini-batch.

Started by ``pool.WorkerProcess`` as ``python worker.py <read fd> <write fd>``: run as a file, not as a
module of the package, so a worker imports only the standard library (and whatever the scoring script
imports) and starts in tens of milliseconds. Messages travel as pickles over two pipes; stdout and stderr
stay free for the script's own prints and logging, which the parent copies into the job log.

Protocol (parent -> worker): ``("init", script_path, code_dir, logging_level)``, then ``("run", index,
files)`` any number of times; EOF ends the worker. Worker -> parent: ``("ready",)`` or ``("fatal", code,
message)`` after init; ``("ok", index, rows, text)`` or ``("error", index, message)`` per run.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

# Error codes shared with spec.ErrorCode; duplicated so this file needs nothing from the package.
SCRIPT_INVALID = "ScoringScriptInvalid"
INIT_FAILED = "ScoringScriptInitFailed"


class ScriptError(Exception):
    """The scoring script cannot serve: it does not import, lacks ``init``/``run`` or ``init()`` raised."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def load_script(script_path: str, code_dir: str) -> ModuleType:
    """Import the scoring script with its code folder importable, as Azure's driver does."""
    sys.path.insert(0, code_dir)
    name = Path(script_path).stem
    spec = importlib.util.spec_from_file_location(name, script_path)
    if spec is None or spec.loader is None:
        raise ScriptError(SCRIPT_INVALID, f"{script_path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as err:
        raise ScriptError(INIT_FAILED, f"importing {Path(script_path).name} failed: {_describe(err)}") from err
    missing = [fn for fn in ("init", "run") if not callable(getattr(module, fn, None))]
    if missing:
        raise ScriptError(SCRIPT_INVALID, f"{Path(script_path).name} does not define {' and '.join(missing)}()")
    return module


def render_rows(result: Any, input_count: int) -> tuple[int, str]:
    """Turn ``run()``'s return value into output rows, the way Azure's ``append_row`` writes them.

    A DataFrame gives one line per row, values separated by a space, without header or index (Azure drops
    column names); a list gives one line per element, ``str(element)``. Each successful input must give at
    least one row (one file may give many, as for tabular files).
    """
    if type(result).__name__ == "DataFrame" and hasattr(result, "to_csv"):
        rows, text = len(result), result.to_csv(sep=" ", header=False, index=False)
    elif isinstance(result, str | bytes | dict) or not hasattr(result, "__iter__"):
        raise TypeError(f"run() must return a pandas DataFrame or a list, got {type(result).__name__}")
    else:
        items = list(result)
        rows, text = len(items), "".join(f"{item}\n" for item in items)
    if rows < input_count:
        raise ValueError(
            f"run() returned {rows} row(s) for {input_count} input file(s); "
            "each successful input must give at least one row"
        )
    return rows, text


def serve(conn_in: Connection, conn_out: Connection) -> None:
    """Initialise from the first message, then answer ``run`` messages until the parent closes the pipe."""
    _, script_path, code_dir, logging_level = conn_in.recv()
    logging.basicConfig(level=logging_level.upper(), stream=sys.stderr, format="%(levelname)s %(message)s")
    try:
        module = load_script(script_path, code_dir)
        module.init()
    except ScriptError as err:
        conn_out.send(("fatal", err.code, str(err)))
        return
    except BaseException as err:
        conn_out.send(("fatal", INIT_FAILED, f"init() failed: {_describe(err)}"))
        return
    conn_out.send(("ready",))
    while True:
        try:
            _, index, files = conn_in.recv()
        except EOFError:
            return
        try:
            rows, text = render_rows(module.run(list(files)), len(files))
        except BaseException as err:
            conn_out.send(("error", index, _describe(err)))
        else:
            conn_out.send(("ok", index, rows, text))


def _describe(err: BaseException) -> str:
    """The exception with the last frames of its traceback: enough to find the failing line in a log."""
    frames = traceback.format_exception(err, limit=-3)
    return "".join(frames).strip()


def main(argv: list[str]) -> None:
    """Entry point: the two pipe file descriptors come as arguments."""
    conn_in = Connection(int(argv[1]), writable=False)
    conn_out = Connection(int(argv[2]), readable=False)
    try:
        serve(conn_in, conn_out)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main(sys.argv)
