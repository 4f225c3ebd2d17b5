"""A foreign https host that the connection's CA bundle trusts: it records every request that reaches it.

It serves the emulator's own certificate on ``localhost`` (a name that certificate holds), so a client
configured with the connection's ``ca_bundle`` would complete the TLS handshake and send its headers. Only
the token-destination rule keeps them away.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class ForeignHost:
    """``url`` is ``https://localhost:<port>``; ``received`` lists ``(method, path, headers)`` of each request."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.received: list[tuple[str, str, dict[str, str]]] = []
        host = self

        class Recorder(BaseHTTPRequestHandler):
            def _record(self) -> None:
                host.received.append((self.command, self.path, dict(self.headers)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"Id": "stolen", "Status": "NotStarted"}')

            do_GET = do_POST = do_PUT = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ForeignHost:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def foreign_host(emulator):
    tls = Path(emulator.ca_bundle).parent
    with ForeignHost(tls / "cert.pem", tls / "key.pem") as host:
        yield host
