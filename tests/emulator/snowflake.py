"""Discord snowflake ids and timestamps.

A snowflake is ``(milliseconds since 2015-01-01) << 22 | worker << 17 | process << 12 | increment``.
The generator here is time based like Discord's and strictly increasing, so ids sort in creation
order (message ids in a channel increase, as discord.py's history pagination expects).
"""

from __future__ import annotations

import datetime as dt
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeGenerator:
    """Hands out unique, strictly increasing, time-based snowflakes."""

    def __init__(self, worker: int = 1, process: int = 0) -> None:
        self._worker = worker & 0x1F
        self._process = process & 0x1F
        self._last = 0

    def next(self) -> int:
        """Return a new snowflake for the current time (never smaller than the previous one)."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (self._worker << 17) | (self._process << 12)
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


def snowflake_time(snowflake: int) -> dt.datetime:
    """The UTC creation time encoded in ``snowflake``."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime | None) -> str | None:
    """Format a datetime as Discord does: ISO 8601 with microseconds and ``+00:00``."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
