"""Waking-hours overlap across time zones, on a reference date (so DST is decided once)."""

from __future__ import annotations

from datetime import date

from bot.matching.hours import common_hours, format_hours, minutes, utc_offset_minutes

WINTER = date(2025, 1, 15)
SUMMER = date(2025, 7, 15)


def overlap(zones: list[str], on: date | None, start: int = 8, end: int = 22) -> str:
    offsets = tuple(sorted(utc_offset_minutes(zone, on) for zone in zones))
    pieces = common_hours(offsets, start, end)
    return format_hours(pieces) if minutes(pieces) else "none"


def test_offsets_follow_the_reference_date_and_default_to_standard_time() -> None:
    assert utc_offset_minutes("Europe/London", WINTER) == 0
    assert utc_offset_minutes("Europe/London", SUMMER) == 60
    assert utc_offset_minutes("Europe/London") == 0
    assert utc_offset_minutes("Australia/Sydney") == 600  # standard time is the southern winter
    assert utc_offset_minutes("Asia/Kathmandu") == 345


def test_london_and_new_york_share_the_european_evening() -> None:
    assert overlap(["Europe/London", "America/New_York"], WINTER) == "13:00 to 22:00 UTC"
    assert overlap(["Europe/London", "America/New_York"], SUMMER) == "12:00 to 21:00 UTC"


def test_a_window_across_midnight_utc_reads_as_one_span() -> None:
    # Santiago (UTC-3 in January) is awake 11:00 to 01:00 UTC; Los Angeles (UTC-8) 16:00 to 06:00.
    assert overlap(["America/Santiago", "America/Los_Angeles"], WINTER) == "16:00 to 01:00 UTC"


def test_far_apart_zones_can_share_two_spans_or_none() -> None:
    assert overlap(["Asia/Manila", "America/Jamaica"], WINTER) == "00:00 to 03:00 and 13:00 to 14:00 UTC"
    assert overlap(["Europe/London", "Pacific/Auckland"], WINTER, 9, 17) == "none"


def test_a_trio_shares_the_hours_all_three_are_awake() -> None:
    assert overlap(["Europe/London", "America/New_York", "Africa/Lagos"], WINTER) == "13:00 to 21:00 UTC"


def test_half_hour_zones_and_a_full_day() -> None:
    assert overlap(["Asia/Kolkata", "Europe/London"], WINTER) == "08:00 to 16:30 UTC"
    assert format_hours(((0, 1440),)) == "all day"
