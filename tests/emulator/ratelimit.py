"""Per-route rate-limit buckets answering like Discord.

A bucket is one route template and method (e.g. ``POST /guilds/{guild_id}/channels``) plus its
major parameters (channel, guild, webhook id and token), with a fixed window: ``limit`` requests per
``per`` seconds. Every answer carries ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch
seconds), ``-Reset-After`` (seconds) and ``-Bucket`` (a stable hash per route); a request over the
limit gets 429 ``{"message", "retry_after", "global": false}`` with ``Retry-After`` and
``X-RateLimit-Scope: user``. discord.py reads these headers, so it waits instead of failing.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass


@dataclass
class _Window:
    limit: int
    per: float
    count: int = 0
    reset_at: float = 0.0


@dataclass
class RateLimitDecision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float


class RateLimiter:
    """Fixed-window buckets; configurable per route, with a generous default."""

    def __init__(self, default_limit: int = 50, default_per: float = 1.0) -> None:
        self.default_limit = default_limit
        self.default_per = default_per
        self._limits: dict[str, tuple[int, float]] = {}
        self._windows: dict[str, _Window] = {}
        #: Every 429 answered: (route key, major parameters, retry_after).
        self.hits: list[tuple[str, str, float]] = []

    def set_limit(self, route: str, limit: int, per: float) -> None:
        """Limit ``route`` ("METHOD /template", e.g. ``"POST /guilds/{guild_id}/channels"``)."""
        self._limits[_normalise(route)] = (limit, per)
        for key in [k for k in self._windows if k.startswith(_normalise(route) + "|")]:
            del self._windows[key]

    def reset(self) -> None:
        self._limits.clear()
        self._windows.clear()

    def check(self, route: str, major: str) -> RateLimitDecision:
        route = _normalise(route)
        limit, per = self._limits.get(route, (self.default_limit, self.default_per))
        key = f"{route}|{major}"
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or window.limit != limit or window.per != per or now >= window.reset_at:
            window = self._windows[key] = _Window(limit=limit, per=per, reset_at=now + per)
        reset_after = max(window.reset_at - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route),
        }
        if window.count >= limit:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Scope"] = "user"
            headers["Retry-After"] = str(max(1, math.ceil(reset_after)))
            self.hits.append((route, major, reset_after))
            return RateLimitDecision(False, headers, reset_after)
        window.count += 1
        headers["X-RateLimit-Remaining"] = str(limit - window.count)
        return RateLimitDecision(True, headers, 0.0)


def bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode(), usedforsecurity=False).hexdigest()[:32]


def _normalise(route: str) -> str:
    method, _, path = route.strip().partition(" ")
    return f"{method.upper()} {path.strip()}"
