"""Point an unmodified discord.py 2.7 client at the emulator.

discord.py hard-codes three things the features here reach:

- ``discord.http.Route.BASE`` (``https://discord.com/api/v10``): every REST call, and, because
  ``discord.webhook.async_`` imports the same ``Route`` class, interaction callbacks, follow-ups and
  ``@original`` edits too (both names are set anyway, in case they ever differ);
- ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (``wss://gateway.discord.gg/``): the first
  connection and the reconnect after INVALID_SESSION (resumes use READY's ``resume_gateway_url``);
- attachment and CDN URLs come from the payloads, which the emulator fills with its own address.

``use_compression`` forces the gateway transport compression discord.py asks for.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import yarl


def _targets() -> list[tuple[Any, str]]:
    import discord.gateway
    import discord.http
    import discord.webhook.async_
    import discord.webhook.sync

    return [
        (discord.http.Route, "BASE"),
        (discord.webhook.async_.Route, "BASE"),
        (discord.webhook.sync.Route, "BASE"),
        (discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY"),
    ]


def install_patch(emulator: Any) -> Callable[[], None]:
    """Point discord.py at ``emulator`` (anything with ``api_url`` and ``gateway_url``).
    Returns a function that restores the previous values."""
    saved = [(owner, name, getattr(owner, name)) for owner, name in _targets()]
    for owner, name in _targets():
        if name == "BASE":
            setattr(owner, name, emulator.api_url)
        else:
            setattr(owner, name, yarl.URL(emulator.gateway_url))

    def restore() -> None:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)

    return restore


@contextlib.contextmanager
def patch_discord(emulator: Any) -> Iterator[None]:
    """Context manager form of :func:`install_patch`."""
    restore = install_patch(emulator)
    try:
        yield
    finally:
        restore()


class ZlibDecompressionContext:
    """discord.py's zlib-stream decompressor (it only defines it when zstandard is missing)."""

    COMPRESSION_TYPE = "zlib-stream"

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.context = zlib.decompressobj()

    def decompress(self, data: bytes, /) -> str | None:
        self.buffer.extend(data)
        if len(data) < 4 or data[-4:] != b"\x00\x00\xff\xff":
            return None
        message = self.context.decompress(self.buffer)
        self.buffer = bytearray()
        return message.decode("utf-8")


@contextlib.contextmanager
def use_compression(kind: str) -> Iterator[None]:
    """Make discord.py request ``"zlib-stream"`` or ``"zstd-stream"`` gateway compression."""
    import discord.utils

    original = discord.utils._ActiveDecompressionContext
    if kind == "zlib-stream":
        replacement: Any = ZlibDecompressionContext
    elif kind == "zstd-stream":
        replacement = getattr(discord.utils, "_ZstdDecompressionContext", None)
        if replacement is None:
            raise RuntimeError("zstandard is not installed, discord.py cannot use zstd-stream")
    else:
        raise ValueError(f"unknown compression {kind!r}")
    discord.utils._ActiveDecompressionContext = replacement
    try:
        yield
    finally:
        discord.utils._ActiveDecompressionContext = original
