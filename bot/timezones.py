"""Time zones for people: the zones of a country, and what the time is there now. Pure."""

from __future__ import annotations

import importlib.resources
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo


@cache
def _zones_by_country() -> dict[str, tuple[str, ...]]:
    """ISO 3166 alpha-2 code to its IANA zones, from tzdata's zone.tab (shipped with tzdata)."""
    table = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in table.splitlines():
        if not line or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) >= 3:
            zones.setdefault(cells[0], []).append(cells[2])
    return {country: tuple(names) for country, names in zones.items()}


def country_zones(country: str) -> tuple[str, ...]:
    """The IANA zones used in a country, most populous region first as tzdata lists them."""
    return _zones_by_country().get(country.upper(), ())


def local_time_text(zone: str, now: datetime) -> str:
    """ "14:05 on Tuesday" in `zone`, for people to check their time zone at a glance."""
    local = now.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M} on {local:%A}"
