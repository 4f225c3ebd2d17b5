"""A scoring script that takes long enough for the restart test to stop the emulator mid-job
(``SLOW_SECONDS`` per mini-batch, from the deployment's environment variables)."""

from __future__ import annotations

import os
import time


def init():
    pass


def run(mini_batch):
    time.sleep(float(os.environ.get("SLOW_SECONDS", "30")))
    return [str(path) for path in mini_batch]
