"""Charts for coordinators, as PNG bytes. Pure: data in, bytes out (matplotlib's Agg backend, no
display, no global pyplot state). Rendering takes a few hundred milliseconds: call it in a thread."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_LINES = 40  # beyond this, single matches are unreadable: the chart shows the totals only

ACTIVE_COLOUR = "#9bb7c9"
QUIET_COLOUR = "#d9534f"
TOTAL_COLOUR = "#1f4e79"


@dataclass(frozen=True)
class MatchSeries:
    label: str
    counts: tuple[int, ...]  # messages per week, one per entry of `WeeklyActivity.weeks`
    quiet: bool = False


@dataclass(frozen=True)
class WeeklyActivity:
    title: str
    weeks: tuple[datetime, ...]  # each week's start
    matches: tuple[MatchSeries, ...]

    @property
    def totals(self) -> tuple[int, ...]:
        return tuple(sum(m.counts[i] for m in self.matches) for i in range(len(self.weeks)))


def messages_per_week_png(data: WeeklyActivity, *, width: float = 8.0, height: float = 4.0) -> bytes:
    """A line per match (quiet matches in red, drawn on top), and the round's total per week."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(data.weeks)))
    labels = [f"{week:%d %b}" for week in data.weeks]
    per_match = len(data.matches) <= MAX_LINES
    quiet = sum(1 for m in data.matches if m.quiet)
    if per_match:
        ordered: Sequence[MatchSeries] = sorted(data.matches, key=lambda m: m.quiet)
        for series in ordered:
            axes.plot(
                positions,
                series.counts,
                color=QUIET_COLOUR if series.quiet else ACTIVE_COLOUR,
                linewidth=2.0 if series.quiet else 1.0,
                marker="o" if series.quiet else None,
                markersize=3,
                alpha=0.95 if series.quiet else 0.7,
            )
    totals = axes.twinx()  # the round's total on its own scale, behind the matches
    totals.bar(positions, data.totals, color=TOTAL_COLOUR, alpha=0.12, width=0.8)
    totals.set_ylabel("all matches", color=TOTAL_COLOUR)
    totals.set_ylim(bottom=0)
    axes.set_zorder(totals.get_zorder() + 1)
    axes.patch.set_visible(False)
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=45 if len(labels) > 8 else 0, fontsize=8)
    axes.set_ylabel("messages per match")
    axes.set_xlabel("week starting (UTC)")
    axes.set_title(data.title, fontsize=11)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    handles = [Line2D([0], [0], color=TOTAL_COLOUR, alpha=0.4, linewidth=6, label="all matches")]
    if per_match:
        handles += [
            Line2D([0], [0], color=ACTIVE_COLOUR, label="a match"),
            Line2D([0], [0], color=QUIET_COLOUR, linewidth=2, marker="o", label=f"quiet ({quiet})"),
        ]
    axes.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def warm_up() -> None:
    """Import matplotlib and build its font cache once, off the event loop, before the first chart."""
    messages_per_week_png(WeeklyActivity("", (datetime(2026, 1, 5),), ()))  # noqa: DTZ001
