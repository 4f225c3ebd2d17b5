"""A scoring script that takes long enough for the restart test to stop the emulator mid-job."""

from __future__ import annotations

import time


def init():
    pass


def run(mini_batch):
    time.sleep(30)
    return [str(path) for path in mini_batch]
