"""``python -m airflow_batchml_emulator --state-dir DIR --port PORT``: run the local Azure ML emulator."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from airflow_batchml_emulator.server import AZURITE_CONNECTION_STRING, ServerConfig, run
from airflow_batchml_emulator.stack import HONOUR_NAMES_VARIABLE, STORAGE_VARIABLE, TOKEN_VARIABLE

LRO_VARIABLE = "AZURE_ML_EMULATOR_LRO_SECONDS"


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_batchml_emulator",
        description="Local Azure ML emulator (HTTPS, ARM + batch scoring REST) for azure-ai-ml.",
    )
    parser.add_argument("--state-dir", type=Path, required=True, help="state, TLS files, connection.json")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument(
        "--storage-connection-string",
        default=os.environ.get(STORAGE_VARIABLE, AZURITE_CONNECTION_STRING),
        help=f"blob storage behind the datastores (default: ${STORAGE_VARIABLE}, else Azurite's development "
        "account on :10000); prefer the variable: command lines are visible to every local user",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE),
        help=f"bearer token to require (default: ${TOKEN_VARIABLE}, else generated and kept in the state dir)",
    )
    parser.add_argument("--wasb-conn-id", default="wasb_default", help="written into connection.json")
    parser.add_argument(
        "--public-host", default=None, help="host name clients use (URLs, certificate); default: the bind address"
    )
    parser.add_argument(
        "--storage-proxy-port",
        type=int,
        default=0,
        help="port of the storage proxy that gives plain-HTTP storage (Azurite) production host names for "
        "azure-ai-ml's own uploads (default: a free port; the address is written to storage_env.json)",
    )
    parser.add_argument(
        "--lro-seconds",
        type=float,
        default=float(os.environ.get(LRO_VARIABLE, "1")),
        help=f"how long creates, updates and deletes run before they succeed; Azure takes about 30 s, and a value "
        f"above 0 makes clients really poll (default: ${LRO_VARIABLE}, else 1)",
    )
    parser.add_argument(
        "--honour-job-names",
        action=argparse.BooleanOptionalAction,
        default=os.environ.get(HONOUR_NAMES_VARIABLE, "") not in ("", "0", "false", "False"),
        help="name a batch job as requested instead of batchjob-<guid> as Azure ML does "
        f"(default: ${HONOUR_NAMES_VARIABLE})",
    )
    args = parser.parse_args(argv)
    return ServerConfig(
        state_dir=args.state_dir,
        port=args.port,
        host=args.host,
        storage_connection_string=args.storage_connection_string,
        token=args.token,
        wasb_conn_id=args.wasb_conn_id,
        public_host=args.public_host,
        lro_seconds=args.lro_seconds,
        storage_proxy_port=args.storage_proxy_port,
        honour_job_names=args.honour_job_names,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
