"""The storage proxy: tunnels only ``CONNECT`` to storage hosts of its suffix, with TLS it terminates."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from airflow_batchml_emulator.storage_proxy import STORAGE_SUFFIX, StorageProxy
from airflow_batchml_emulator.tls import ensure_certificate

HOST = f"devstoreaccount1.blob.{STORAGE_SUFFIX}"


@pytest.fixture
def upstream():
    """A one-shot plain-HTTP server standing in for Azurite; records the request it got."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname(), received
    server.close()


@pytest.fixture
def proxy(tmp_path, upstream):
    cert, key = ensure_certificate(tmp_path / "tls", extra_names=(f"*.blob.{STORAGE_SUFFIX}",))
    server = StorageProxy(upstream[0], cert, key)
    server.start()
    yield server, cert
    server.stop()


def _ask(proxy: StorageProxy, line: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection((proxy.host, proxy.port), timeout=10)
    sock.sendall(f"{line}\r\nHost: x\r\n\r\n".encode())
    return sock, sock.recv(4096)


@pytest.mark.parametrize(
    "line",
    [
        "CONNECT example.org:443 HTTP/1.1",
        f"CONNECT devstoreaccount1.blob.{STORAGE_SUFFIX}.evil.org:443 HTTP/1.1",
        "CONNECT 127.0.0.1:22 HTTP/1.1",
        f"GET http://{HOST}/ HTTP/1.1",
    ],
)
def test_anything_but_a_storage_host_is_refused(proxy, line):
    sock, reply = _ask(proxy[0], line)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 403")


def test_a_storage_host_is_tunnelled_to_the_upstream_over_tls(proxy, upstream):
    server, cert = proxy
    sock, reply = _ask(server, f"CONNECT {HOST}:443 HTTP/1.1")
    assert reply.startswith(b"HTTP/1.1 200")
    context = ssl.create_default_context(cafile=str(cert))
    with context.wrap_socket(sock, server_hostname=HOST) as tls:  # the certificate covers *.blob.<suffix>
        tls.sendall(f"GET /container/blob HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert answer.endswith(b"ok")
    assert upstream[1][0].startswith(f"GET /container/blob HTTP/1.1\r\nHost: {HOST}".encode())
