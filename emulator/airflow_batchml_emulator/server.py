"""Start the emulator: state, engine, HTTPS listener, connection files, and a clean stop on SIGTERM.

uvicorn runs in a thread so that this module owns the signals: uvicorn re-raises a captured SIGTERM
after its graceful shutdown, which would end the process with -15 instead of 0, and the engine must be
stopped after the listener. ``connection.json`` is written only once the socket accepts connections, so
a caller waiting for that file can connect at once.

When the blob storage is plain HTTP (Azurite), a storage proxy (storage_proxy.py) also listens, so that
azure-ai-ml's own uploads and downloads reach it under production host names; ``storage_env.json`` holds
the environment a client process needs to use it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from airflow_batchml_emulator.app import create_app
from airflow_batchml_emulator.handlers.common import EmulatorContext, StorageAccount
from airflow_batchml_emulator.handlers.job_specs import recover_jobs
from airflow_batchml_emulator.stack import azurite_connection_string
from airflow_batchml_emulator.state import EngineReporter, StateStore
from airflow_batchml_emulator.storage_proxy import STORAGE_SUFFIX, StorageProxy
from airflow_batchml_emulator.tls import ensure_certificate

log = logging.getLogger(__name__)

AZURITE_CONNECTION_STRING = azurite_connection_string(10000)
DATASTORES = {"workspaceblobstore": "azureml-blobstore"}
_STARTUP_TIMEOUT = 30.0
# Idle keep-alive TLS connections of clients would otherwise hold the shutdown for the 30 s SSL timeout.
_GRACEFUL_SHUTDOWN = 3
_TOKEN_BYTES = 32
_TOKEN_LENGTH = 43  # characters of secrets.token_urlsafe(_TOKEN_BYTES)


@dataclass
class ServerConfig:
    """The command line, as values."""

    state_dir: Path
    port: int
    host: str = "127.0.0.1"
    storage_connection_string: str = AZURITE_CONNECTION_STRING
    token: str | None = None
    wasb_conn_id: str = "wasb_default"
    public_host: str | None = None
    honour_job_names: bool = False
    lro_seconds: float = 1.0
    storage_proxy_port: int = 0  # 0: a free port


def run(config: ServerConfig) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit code."""
    from airflow_batchml_emulator.engine import BatchEngine
    from airflow_batchml_emulator.engines import Engines
    from airflow_batchml_emulator.pipeline_runner import PipelineEngine
    from airflow_batchml_emulator.storage import JobStorage

    state_dir = config.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    public_host = config.public_host or _url_host(config.host)
    cert, key = ensure_certificate(state_dir / "tls", public_host, (f"*.blob.{STORAGE_SUFFIX}",))
    storage = StorageAccount.from_connection_string(config.storage_connection_string)
    _wait_for_storage(storage)
    proxy = _start_storage_proxy(config, storage, cert, key)
    store = StateStore(state_dir / "state.sqlite")
    reporter = EngineReporter(store)
    batch_engine = BatchEngine(
        reporter=reporter,
        storage_connection_string=storage.connection_string,
        datastores=DATASTORES,
        work_root=state_dir / "jobs",
        prepare_seconds=config.lro_seconds,  # Azure's compute preparation, as long as its other operations
        storage_client_endpoint=storage.client_endpoint,
    )
    pipeline_engine = PipelineEngine(
        reporter=reporter,
        storage=JobStorage(storage.connection_string, DATASTORES, storage.client_endpoint),
        work_root=state_dir / "pipeline-jobs",
        prepare_seconds=config.lro_seconds,
    )
    engine = Engines(batch_engine, pipeline_engine)
    ctx = EmulatorContext(
        store=store,
        engine=engine,
        storage=storage,
        base_url=f"https://{public_host}:{config.port}",
        token=config.token or _stored_token(state_dir),
        datastores=DATASTORES,
        honour_job_names=config.honour_job_names,
        lro_seconds=config.lro_seconds,
    )
    recover_jobs(ctx)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx),
            host=config.host,
            port=config.port,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        )
    )
    try:
        return _serve(server, ctx, state_dir, cert, config.wasb_conn_id, proxy)
    finally:
        if proxy is not None:
            proxy.stop()
        reporter.detach()
        engine.shutdown()
        store.close()


def _start_storage_proxy(config: ServerConfig, storage: StorageAccount, cert: Path, key: Path) -> StorageProxy | None:
    """Front plain-HTTP storage (Azurite) with the storage proxy; HTTPS storage (Azure) is reached directly."""
    endpoint = urlsplit(storage.blob_endpoint)
    if endpoint.scheme != "http" or not endpoint.hostname:
        return None
    public_host = config.public_host or _url_host(config.host)
    upstream = (endpoint.hostname, endpoint.port or 80)
    proxy = StorageProxy(upstream, cert, key, host=config.host, port=config.storage_proxy_port, public_host=public_host)
    proxy.start()
    storage.client_suffix = STORAGE_SUFFIX
    return proxy


def _serve(
    server: uvicorn.Server,
    ctx: EmulatorContext,
    state_dir: Path,
    cert: Path,
    wasb_conn_id: str,
    proxy: StorageProxy | None,
) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            log.error("The emulator could not start listening on %s", ctx.base_url)
            return 1
        time.sleep(0.05)
    write_connection_files(ctx, state_dir, cert, wasb_conn_id, proxy)
    log.info("Azure ML emulator listening on %s (state in %s)", ctx.base_url, state_dir)
    while not stop.is_set() and thread.is_alive():
        stop.wait(0.5)
    server.should_exit = True
    thread.join(_STARTUP_TIMEOUT)
    log.info("Azure ML emulator stopped")
    return 0


def write_connection_files(
    ctx: EmulatorContext, state_dir: Path, cert: Path, wasb_conn_id: str, proxy: StorageProxy | None = None
) -> None:
    """``connection.json`` (azure_ml) and ``wasb_connection.json``, the JSON form AIRFLOW_CONN_* takes, and
    with a storage proxy ``storage_env.json``: the variables that send azure-ai-ml's storage calls to it."""
    azure_ml = {
        "conn_type": "azure_ml",
        "extra": {
            "subscription_id": ctx.subscription_id,
            "resource_group": ctx.resource_group,
            "workspace_name": ctx.workspace_name,
            "resource_manager_url": f"{ctx.base_url}/",
            "ca_bundle": str(cert.resolve()),
            "token": ctx.token,
            "wasb_conn_id": wasb_conn_id,
        },
    }
    if ctx.storage.client_suffix:
        azure_ml["extra"]["storage_endpoint"] = ctx.storage.client_suffix
    wasb = {"conn_type": "wasb", "extra": {"connection_string": ctx.storage.connection_string}}
    storage_env = state_dir / "storage_env.json"
    if proxy is None:
        storage_env.unlink(missing_ok=True)
    else:
        # azure-ai-ml does not hand its connection_verify to the storage clients; requests reads the bundle.
        no_proxy = ",".join(dict.fromkeys(["127.0.0.1", "localhost", urlsplit(ctx.base_url).hostname]))
        env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": no_proxy, "REQUESTS_CA_BUNDLE": str(cert.resolve())}
        _write_private_json(storage_env, env)
    _write_private_json(state_dir / "wasb_connection.json", wasb)
    _write_private_json(state_dir / "connection.json", azure_ml)


def _write_private_json(path: Path, content: dict[str, Any]) -> None:
    _write_private(path, json.dumps(content, indent=2))


def _write_private(path: Path, text: str) -> None:
    """Atomic (synced temp file + rename) and owner-only: these files carry secrets, and a crash
    mid-write must leave the old file or the new one, never an empty one."""
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _stored_token(state_dir: Path) -> str:
    """The bearer token kept in the state dir, so connections written earlier survive a restart.

    A token file shorter than the tokens written here was cut short (an older emulator crashed between
    create and write); serving with an empty token would let an empty bearer pass, so a new one replaces it.
    """
    path = state_dir / "token"
    if path.exists():
        token = path.read_text().strip()
        if len(token) >= _TOKEN_LENGTH:
            return token
        log.warning("The token file %s is empty or truncated; writing a new token", path)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    _write_private(path, token)
    return token


def _wait_for_storage(storage: StorageAccount) -> None:
    """Create the datastore containers, waiting a bounded time for the storage (Azurite) to come up."""
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while True:
        try:
            for container in DATASTORES.values():
                storage.ensure_container(container)
            return
        except Exception as err:  # azure-core raises several types for "not up yet"
            if time.monotonic() > deadline:
                raise RuntimeError(f"Blob storage at {storage.blob_endpoint} is not reachable: {err}") from err
            log.info("Waiting for blob storage at %s", storage.blob_endpoint)
            time.sleep(0.5)


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
