"""The emulated Discord gateway (websocket), API v10, JSON encoding.

What it does, as Discord does:

- HELLO with a heartbeat interval; HEARTBEAT (op 1) is answered with HEARTBEAT_ACK (op 11).
- IDENTIFY (op 2) checks the token and intents (privileged intents must be enabled on the
  emulated application, else close 4014) and the shard (``[shard_id, shard_count]``, else close
  4010), then dispatches READY (with ``resume_gateway_url`` pointing back at the emulator) and one
  GUILD_CREATE per guild the bot is in that the shard holds.
- Sharding as Discord routes it: a guild belongs to shard ``(guild_id >> 22) % shard_count``; its
  events and interactions reach only sessions on that shard, DMs only shard 0. A new IDENTIFY
  ends the older sessions of the same shard, unless ``Emulator.concurrent_sessions`` is set (two
  processes identified on one shard, as during a rolling restart: both get the events).
- RESUME (op 6) with a known session replays every dispatch with a sequence number above the
  client's, then RESUMED; an unknown or invalidated session gets INVALID_SESSION (op 9, ``false``).
- REQUEST_GUILD_MEMBERS (op 8) is answered with GUILD_MEMBERS_CHUNK events.
- Transport compression per the ``compress`` query parameter: ``zlib-stream`` (one zlib stream,
  Z_SYNC_FLUSH after every message), ``zstd-stream`` (one zstd stream, a flushed block per message)
  or none (text frames).

Dispatches are queued per session, so they can be emitted from synchronous code and keep their
order; while the client is disconnected they are kept (with their sequence numbers) for RESUME.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)

# opcodes
DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

# intents
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MODERATION = 1 << 2
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

MAX_BUFFERED_EVENTS = 50_000


class _ZlibStream:
    def __init__(self) -> None:
        self._compressor = zlib.compressobj()

    def encode(self, text: str) -> bytes:
        return self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)


class _ZstdStream:
    def __init__(self) -> None:
        import zstandard

        self._flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        self._compressor = zstandard.ZstdCompressor().compressobj()

    def encode(self, text: str) -> bytes:
        return self._compressor.compress(text.encode()) + self._compressor.flush(self._flush)


@dataclass
class GatewaySession:
    """One identified gateway session of the bot (survives dropped connections until invalidated)."""

    session_id: str
    user_id: int
    intents: int
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=MAX_BUFFERED_EVENTS))
    connection: GatewayConnection | None = None
    invalidated: bool = False
    resumes: int = 0
    shard_id: int = 0
    shard_count: int = 1

    def has_intent(self, intent: int) -> bool:
        return bool(self.intents & intent)

    def holds(self, guild_id: int | None) -> bool:
        """Whether this session's shard gets the events of ``guild_id`` (None: a DM, shard 0)."""
        if guild_id is None:
            return self.shard_id == 0
        return (guild_id >> 22) % self.shard_count == self.shard_id


class GatewayConnection:
    """One websocket connection: an ordered outgoing queue and its compression stream."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None, path: str) -> None:
        self.ws = ws
        self.compress = compress
        self.path = path
        self.session: GatewaySession | None = None
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        if compress == "zlib-stream":
            self._encoder: _ZlibStream | _ZstdStream | None = _ZlibStream()
        elif compress == "zstd-stream":
            self._encoder = _ZstdStream()
        else:
            self._encoder = None
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    def send(self, text: str) -> None:
        self.queue.put_nowait(text)

    def send_json(self, payload: dict[str, Any]) -> None:
        self.send(json.dumps(payload, separators=(",", ":")))

    async def _write_loop(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None or self.ws.closed:
                return
            try:
                if self._encoder is None:
                    await self.ws.send_str(text)
                else:
                    await self.ws.send_bytes(self._encoder.encode(text))
            except (ConnectionError, RuntimeError):
                return

    async def close(self, code: int) -> None:
        self.queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.writer


class Gateway:
    """The gateway endpoint and the dispatch fan-out to identified sessions."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        #: Number of IDENTIFY and RESUME handshakes completed (for tests).
        self.identify_count = 0
        self.resume_count = 0
        #: Compression used by each accepted connection, in order ("zlib-stream", "zstd-stream", None).
        self.compressions: list[str | None] = []
        self._changed = asyncio.Event()

    # -- public ---------------------------------------------------------------------------------

    @property
    def active_session(self) -> GatewaySession | None:
        """The newest session that is not invalidated (connected or waiting for RESUME)."""
        for session in reversed(list(self.sessions.values())):
            if not session.invalidated:
                return session
        return None

    @property
    def connected(self) -> bool:
        session = self.active_session
        return session is not None and session.connection is not None

    def connected_for(self, guild_id: int | None) -> bool:
        """Whether a connected session gets the events of ``guild_id`` (None: DMs)."""
        sessions = self.sessions.values()
        return any(not s.invalidated and s.connection is not None and s.holds(guild_id) for s in sessions)

    def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        intent: int = 0,
        when: Callable[[GatewaySession], bool] | None = None,
        transform: Callable[[GatewaySession, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> int:
        """Send ``event`` to every session that has ``intent`` (0: none needed) and passes ``when``.

        ``transform`` may adapt the data per session (e.g. strip message content). Returns the
        number of sessions the event was queued for.
        """
        count = 0
        guild_id = _guild_of(event, data)
        for session in list(self.sessions.values()):
            if session.invalidated or not session.holds(guild_id):
                continue
            if intent and not session.has_intent(intent):
                continue
            if when is not None and not when(session):
                continue
            payload = transform(session, data) if transform else data
            self._emit(session, event, payload)
            count += 1
        return count

    async def drop(self, *, code: int = 4000, resumable: bool = True) -> None:
        """Cut every gateway connection. With ``resumable=False`` the sessions are invalidated too,
        so the client's RESUME gets INVALID_SESSION and it must IDENTIFY again."""
        for session in self.sessions.values():
            if not resumable:
                session.invalidated = True
        for connection in list(self.connections):
            await connection.close(code)
        self._notify()

    def send_reconnect(self) -> None:
        """Ask the client to reconnect and resume (op 7 RECONNECT)."""
        for connection in list(self.connections):
            connection.send_json({"op": RECONNECT, "d": None})

    async def wait_changed(self, timeout: float) -> None:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def close(self) -> None:
        for connection in list(self.connections):
            await connection.close(1001)

    # -- websocket handler ------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream", "zstd-stream"):
            await ws.close(code=4000)
            return ws
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Only json encoding is emulated")
            return ws
        connection = GatewayConnection(ws, compress, request.path)
        self.connections.add(connection)
        self.compressions.append(compress)
        connection.send_json({"op": HELLO, "d": {"heartbeat_interval": self.emu.heartbeat_interval_ms}})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._received(connection, json.loads(msg.data))
                elif msg.type == WSMsgType.BINARY:
                    await self._received(connection, json.loads(msg.data.decode()))
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("gateway connection failed")
        finally:
            self.connections.discard(connection)
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
            await connection.close(1000)
            self._notify()
        return ws

    async def _received(self, connection: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == HEARTBEAT:
            connection.send_json({"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(connection, data or {})
        elif op == RESUME:
            await self._resume(connection, data or {})
        elif op == REQUEST_GUILD_MEMBERS:
            self._request_members(connection, data or {})
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            pass
        else:
            log.warning("gateway: unknown opcode %r", op)

    async def _identify(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            await connection.close(4005)  # already authenticated
            return
        if data.get("token") != self.emu.bot_token:
            await connection.close(4004)  # authentication failed
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await connection.close(4013)  # invalid intents
            return
        if intents & PRIVILEGED_INTENTS & ~self.emu.privileged_intents:
            await connection.close(4014)  # disallowed intents
            return
        shard = data.get("shard") or [0, 1]
        if not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(n, int) for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            await connection.close(4010)  # invalid shard
            return
        for old in self.sessions.values():
            if old.shard_id == shard[0] and not self.emu.concurrent_sessions:
                old.invalidated = True
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            user_id=self.emu.bot_user_id,
            intents=intents,
            shard_id=shard[0],
            shard_count=shard[1],
        )
        self.sessions[session.session_id] = session
        session.connection = connection
        connection.session = session
        self.identify_count += 1
        self._emit(session, "READY", self.emu.events.ready_payload(session))
        for guild in self.emu.events.bot_guilds():
            if session.holds(guild.id):
                self._emit(session, "GUILD_CREATE", self.emu.events.guild_create_payload(guild, session))
        self._notify()

    async def _resume(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id") or "")
        if data.get("token") != self.emu.bot_token:
            await connection.close(4004)
            return
        seq = data.get("seq") or 0
        oldest = session.buffer[0][0] if session and session.buffer else None
        if session is None or session.invalidated or (oldest is not None and oldest > seq + 1):
            connection.send_json({"op": INVALID_SESSION, "d": False})
            return
        if session.connection is not None and session.connection is not connection:
            previous = session.connection
            session.connection = None
            await previous.close(4000)
        session.connection = connection
        connection.session = session
        for event_seq, text in session.buffer:
            if event_seq > seq:
                connection.send(text)
        session.resumes += 1
        self.resume_count += 1
        self._emit(session, "RESUMED", {})
        self._notify()

    def _request_members(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        session = connection.session
        if session is None:
            return
        for chunk in self.emu.events.member_chunks(session, data):
            self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- internals --------------------------------------------------------------------------------

    def _emit(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        text = json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data}, separators=(",", ":"))
        session.buffer.append((session.seq, text))
        if session.connection is not None:
            session.connection.send(text)
        self.emu.record_event(event, data)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


# Events about a guild as a whole carry its id as ``id``; the others carry ``guild_id`` or none.
_GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def _guild_of(event: str, data: dict[str, Any]) -> int | None:
    raw = data.get("id") if event in _GUILD_EVENTS else data.get("guild_id")
    return int(raw) if raw else None
