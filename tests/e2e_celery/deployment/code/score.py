"""Echo scoring: one row per input file (its name and size), the standard library only.

With ``E2E_GATE_DIR`` set, ``run()`` first waits until the file ``$E2E_GATE_DIR/<set>`` exists, for inputs
named ``<set>-<n>.txt`` (a test creates it to release the jobs). The wait is bounded, so a test that never
releases fails its jobs instead of hanging.
"""

import os
import time

HOLD_LIMIT_SECONDS = 600


def init():
    pass


def wait_for_release(path):
    gate = os.path.join(os.environ["E2E_GATE_DIR"], os.path.basename(path).rsplit("-", 1)[0])
    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} was not created within {HOLD_LIMIT_SECONDS} s")
        time.sleep(0.5)


def run(mini_batch):
    if os.environ.get("E2E_GATE_DIR"):
        for path in mini_batch:
            wait_for_release(path)
    return [f"{os.path.basename(path)} {os.path.getsize(path)}" for path in mini_batch]
