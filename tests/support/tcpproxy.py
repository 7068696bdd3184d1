"""A loopback TCP proxy that a test can cut and restore: PostgreSQL going away, for real.

The bot's database URL points at the proxy, the proxy forwards to the real server. `cut()` resets
every open connection (the client sees its socket die, mid-query if it was in one) and closes the
listening socket, so new connections are refused, as with a server that is down or unreachable;
`restore()` listens again on the same port. Nothing in the bot is mocked: asyncpg and SQLAlchemy
meet a real network fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url

BUFFER = 65_536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()

    @property
    def is_cut(self) -> bool:
        return self._server is None

    async def start(self) -> int:
        """Listen (on a free port the first time, the same port afterwards); returns the port."""
        if self.port == 0:
            self.port = _free_port(self.host)
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        return self.port

    def cut_now(self) -> None:
        """Refuse new connections and reset every open one, without awaiting: usable from
        synchronous code that runs on the event loop (a SQLAlchemy event hook)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()  # a reset, not a polite close: the peer learns at once
        self._transports.clear()

    async def cut(self) -> None:
        self.cut_now()
        await asyncio.sleep(0)  # let the aborted transports report the loss

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def stop(self) -> None:
        self.cut_now()

    def url_for(self, database_url: str, password: str | None = None) -> str:
        """`database_url` with its host and port replaced by the proxy's (and a password, if given)."""
        url = make_url(database_url).set(host=self.host, port=self.port)
        if password is not None:
            url = url.set(password=password)
        return url.render_as_string(hide_password=False)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._server is None:  # cut while this connection was being accepted
            client_writer.transport.abort()
            return
        self._transports.add(client_writer.transport)
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            self._transports.discard(client_writer.transport)
            return
        self._transports.add(server_writer.transport)
        await asyncio.gather(
            self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(BUFFER):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._transports.discard(writer.transport)
            with contextlib.suppress(Exception):
                writer.close()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def proxy_to(database_url: str) -> AsyncIterator[TcpProxy]:
    """A started proxy in front of the PostgreSQL server that `database_url` names."""
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
