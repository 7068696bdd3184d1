"""The activity chart: a real PNG from matplotlib, for any round size."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from bot.charts import MAX_LINES, PNG_SIGNATURE, MatchSeries, WeeklyActivity, messages_per_week_png

WEEK0 = datetime(2026, 3, 2, tzinfo=UTC)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def activity(matches: int, weeks: int) -> WeeklyActivity:
    return WeeklyActivity(
        "Spring 2026: messages per week",
        tuple(WEEK0 + timedelta(weeks=i) for i in range(weeks)),
        tuple(
            MatchSeries(f"match {m}", tuple((m * w) % 9 for w in range(weeks)), quiet=m % 4 == 0)
            for m in range(matches)
        ),
    )


@pytest.mark.parametrize(("matches", "weeks"), [(0, 1), (3, 1), (15, 16), (MAX_LINES + 10, 16)])
def test_the_chart_is_a_png_of_the_expected_size(matches: int, weeks: int) -> None:
    data = messages_per_week_png(activity(matches, weeks))
    assert png_size(data) == (800, 400)
    assert data.endswith(b"IEND\xaeB`\x82")
    assert len(data) > 10_000  # axes, labels and lines, not a blank image


def test_quiet_matches_change_the_picture() -> None:
    calm = activity(6, 8)
    flagged = WeeklyActivity(
        calm.title, calm.weeks, tuple(MatchSeries(m.label, m.counts, True) for m in calm.matches)
    )
    assert messages_per_week_png(calm) != messages_per_week_png(flagged)


def test_totals_add_up_per_week() -> None:
    data = activity(3, 4)
    assert data.totals == tuple(sum(m.counts[i] for m in data.matches) for i in range(4))
