"""Fault injection for REST calls: scripted failures and seeded random chaos.

Route patterns match either a route template exactly (``"/channels/{channel_id}/messages"``) or
the request path as a glob (``"/channels/*/messages"``); ``"*"`` matches everything. Paths and
templates are relative to ``/api/v10``. Methods are HTTP methods or ``"*"``.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class Fault:
    """A failure to answer instead of running the handler."""

    status: int
    retry_after: float = 0.05


@dataclass
class _Rule:
    method: str
    pattern: str
    remaining: int
    fault: Fault


def matches(pattern: str, template: str, path: str) -> bool:
    return pattern in ("*", template) or fnmatch.fnmatchcase(path, pattern)


class Faults:
    """Holds the scripted failures (``fail_next``) and the chaos settings (``set_chaos``)."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._chaos_rate = 0.0
        self._chaos_statuses: tuple[int, ...] = (429, 500)
        self._chaos_routes: tuple[str, ...] = ()
        self._chaos_retry_after = 0.05
        self._random = random.Random(0)
        #: Every injected failure: (method, path, status).
        self.injected: list[tuple[str, str, int]] = []

    def fail_next(
        self, method: str, route: str, count: int = 1, status: int = 500, retry_after: float = 0.05
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (5xx, or 429 with
        ``retry_after`` seconds)."""
        self._rules.append(_Rule(method.upper(), route, count, Fault(status, retry_after)))

    def set_chaos(
        self,
        rate: float,
        statuses: Iterable[int] = (429, 500),
        seed: int | None = 0,
        routes: Iterable[str] = (),
        retry_after: float = 0.05,
    ) -> None:
        """Fail a fraction ``rate`` of requests (restricted to ``routes`` patterns if given, as
        ``"METHOD pattern"`` or just ``"pattern"``) with a status drawn from ``statuses``,
        reproducibly for a given ``seed``. ``rate=0`` turns chaos off."""
        self._chaos_rate = rate
        self._chaos_statuses = tuple(statuses)
        self._chaos_routes = tuple(routes)
        self._chaos_retry_after = retry_after
        self._random = random.Random(seed)

    def clear(self) -> None:
        self._rules.clear()
        self._chaos_rate = 0.0

    def pick(self, method: str, template: str, path: str) -> Fault | None:
        for rule in self._rules:
            if rule.remaining > 0 and rule.method in ("*", method) and matches(rule.pattern, template, path):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                self.injected.append((method, path, rule.fault.status))
                return rule.fault
        applies = self._chaos_rate > 0 and self._chaos_applies(method, template, path)
        if applies and self._random.random() < self._chaos_rate:
            status = self._random.choice(self._chaos_statuses)
            self.injected.append((method, path, status))
            return Fault(status, self._chaos_retry_after)
        return None

    def _chaos_applies(self, method: str, template: str, path: str) -> bool:
        if not self._chaos_routes:
            return True
        for route in self._chaos_routes:
            route_method, _, pattern = route.partition(" ")
            if not pattern:
                route_method, pattern = "*", route_method
            if route_method.upper() in ("*", method) and matches(pattern, template, path):
                return True
        return False
