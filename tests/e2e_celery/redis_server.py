"""A throw-away Redis for the Celery broker: Debian's ``redis-server`` on a free loopback port, no persistence.

The compose file's ``redis`` service, run natively: nothing is saved to disk (the broker's queues only live
as long as the test session), and ``stop()`` ends the server by pid.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from airflow_batchml_emulator.stack import free_port, stop_process, wait_listening

START_TIMEOUT = 30.0


def redis_server_binary() -> str:
    if binary := shutil.which("redis-server"):
        return binary
    raise FileNotFoundError("redis-server is not installed: `make setup` installs the Debian package redis-server")


class RedisServer:
    """``redis-server`` bound to 127.0.0.1 on a free port; ``url`` is the Celery broker URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.work_dir = Path(tempfile.mkdtemp(prefix="airflow-batchml-e2e-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.work_dir), "--daemonize", "no"]
        log = (self.work_dir / "redis.log").open("w")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_listening(self.port, self.proc, "redis-server")
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ping():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server did not answer PING; see {self.work_dir / 'redis.log'}")
            time.sleep(0.2)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
        shutil.rmtree(self.work_dir, ignore_errors=True)
