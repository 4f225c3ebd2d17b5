"""A loopback HTTPS proxy that gives the local blob storage (Azurite) production host names.

Without a WASB connection, azure-ai-ml uploads local folders and downloads outputs itself, to
``https://{account}.blob.{cloud storage suffix}``: a name that must resolve through DNS, which no loopback
name does without editing the system. A client whose ``HTTPS_PROXY`` names this proxy never resolves it: it
asks the proxy to ``CONNECT`` to the host. The proxy accepts only ``<account>.blob.<suffix>``, answers the TLS
handshake with the emulator's certificate (valid for ``*.blob.<suffix>``) and passes the HTTP inside to the
storage's plain-HTTP port, where Azurite reads the account from the first host label as Azure does. Any other
host is refused, so the proxy never reaches beyond the storage it fronts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import threading
from pathlib import Path

log = logging.getLogger(__name__)

#: Storage host suffix clients use for the local storage; ``.blob.core.`` in the host lets the storage SDK
#: take the account name for shared-key signing, and ``.test`` is reserved, so it never resolves anywhere.
STORAGE_SUFFIX = "core.azureml.test"
_HEAD_LIMIT = 1 << 16
_HANDSHAKE_TIMEOUT = 10.0
_CHUNK = 1 << 16
_START_TIMEOUT = 10.0


class StorageProxy:
    """``CONNECT <account>.blob.<suffix>:<port>`` -> TLS with ``cert`` -> plain HTTP to ``upstream``.

    :param upstream: ``(host, port)`` of the storage's plain-HTTP listener (Azurite's blob port).
    :param cert: certificate (PEM) valid for ``*.blob.<suffix>``; ``key`` is its private key.
    :param host: address to bind; ``port`` 0 picks a free one.
    :param public_host: the host name clients use in ``HTTPS_PROXY`` (default: ``host``).
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        cert: Path,
        key: Path,
        suffix: str = STORAGE_SUFFIX,
        host: str = "127.0.0.1",
        port: int = 0,
        public_host: str | None = None,
    ) -> None:
        self.upstream = upstream
        self.host, self.port, self.public_host = host, port, public_host or host
        self._target = re.compile(rf"[a-z0-9]{{3,24}}\.blob\.{re.escape(suffix)}:\d{{1,5}}", re.IGNORECASE)
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(cert, key)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()  # open client and storage streams, closed on stop

    @property
    def url(self) -> str:
        """What ``HTTPS_PROXY`` is set to."""
        return f"http://{self.public_host}:{self.port}"

    def start(self) -> None:
        """Listen, then serve in a daemon thread with its own event loop."""
        self._loop = asyncio.new_event_loop()
        start = asyncio.start_server(self._serve, self.host, self.port, limit=_HEAD_LIMIT)
        self._server = self._loop.run_until_complete(asyncio.wait_for(start, _START_TIMEOUT))
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._loop.run_forever, name="storage-proxy", daemon=True)
        self._thread.start()
        log.info("Storage proxy on %s for storage at %s:%d", self.url, *self.upstream)

    def stop(self) -> None:
        if self._loop is None or self._server is None or self._thread is None:
            return
        with contextlib.suppress(TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(_START_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_START_TIMEOUT)
        self._loop.close()
        self._loop = self._server = self._thread = None

    async def _close(self) -> None:
        """Stop listening and end the open tunnels."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # a TLS close would wait for the client's close_notify
        tunnels = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        await asyncio.wait(tunnels, timeout=_HANDSHAKE_TIMEOUT) if tunnels else None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        up_writer = None
        try:
            target = await asyncio.wait_for(self._read_connect(reader), _HANDSHAKE_TIMEOUT)
            if target is None:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await writer.start_tls(self._tls, ssl_handshake_timeout=_HANDSHAKE_TIMEOUT)
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            self._writers.add(up_writer)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, ssl.SSLError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
            log.debug("Storage proxy connection ended: %s", err)
        finally:
            writer.close()
            self._writers.discard(writer)
            self._writers.discard(up_writer)

    async def _read_connect(self, reader: asyncio.StreamReader) -> str | None:
        """The ``host:port`` of a ``CONNECT`` to a storage host of the suffix; None for anything else."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, _, rest = head.partition(" ")
        target = rest.partition(" ")[0]
        if method != "CONNECT" or not self._target.fullmatch(target):
            log.warning("Storage proxy refused %s %s", method[:16], target[:100])
            return None
        return target


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then close the other side (TLS streams cannot half-close)."""
    try:
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()
