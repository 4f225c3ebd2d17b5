"""A throw-away PostgreSQL server for the end-to-end Airflow: Debian's binaries, a temporary data directory,
a free loopback port, trust authentication on 127.0.0.1 only.

PostgreSQL refuses to run as root, so when the tests run as root the server commands run as the
``postgres`` user the Debian package creates (``runuser``), on a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from airflow_batchml_emulator.stack import free_port

START_TIMEOUT = 60
DATABASE = "airflow"


def postgres_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<major>/bin`` (Debian's layout), else the directory of ``pg_ctl`` on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    if pg_ctl := shutil.which("pg_ctl"):
        return Path(pg_ctl).parent
    raise FileNotFoundError("PostgreSQL is not installed: `make setup` installs the Debian package postgresql")


class PostgresServer:
    """``initdb`` + ``pg_ctl start`` on a free port; ``stop()`` ends the server with ``pg_ctl stop``."""

    def __init__(self) -> None:
        self.bin_dir = postgres_bin_dir()
        self.port = free_port()
        self.as_postgres_user = os.geteuid() == 0
        self.data_dir = Path(tempfile.mkdtemp(prefix="airflow-batchml-e2e-pg-"))
        self.log_file = self.data_dir / "server.log"
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        if self.as_postgres_user:
            user = pwd.getpwnam("postgres")
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        pgdata = self.data_dir / "data"
        self._run("initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.data_dir}"
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run("pg_ctl", "start", "-D", str(pgdata), "-o", options, "-l", str(self.log_file), "-w", "-t", "60")
        self.started = True
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", DATABASE)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.as_postgres_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT + 30, cwd=self.data_dir)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-2000:]}")

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Rows of one read-only statement on the metadata database (what the REST API does not show)."""
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=DATABASE)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "stop", "-D", str(self.data_dir / "data"), "-m", "fast", "-w", "-t", "30")
            self.started = False
        shutil.rmtree(self.data_dir, ignore_errors=True)
