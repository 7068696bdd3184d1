"""Charts for coordinators, as PNG bytes. Pure: data in, bytes out (matplotlib's Agg backend, no
display, no global pyplot state). Rendering takes a few hundred milliseconds: call it in a thread."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


# -- programme reports (bot/reports.py, /report) ----------------------------------------------


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _png(figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def bar_chart_png(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    ylabel: str = "",
    xlabel: str = "",
    width: float = 8.0,
    height: float = 4.0,
) -> bytes:
    """One bar per label; an empty chart says "no data yet" rather than failing."""
    figure, axes = _figure(width, height)
    positions = list(range(len(labels)))
    axes.bar(positions, values, color=TOTAL_COLOUR, alpha=0.8)
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=45 if len(labels) > 8 else 0, fontsize=8)
    if not labels:
        axes.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(title, fontsize=11)
    axes.set_ylabel(ylabel)
    axes.set_xlabel(xlabel)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def stacked_bars_png(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    ylabel: str = "",
    xlabel: str = "",
    width: float = 8.0,
    height: float = 4.0,
) -> bytes:
    """Bars per label, stacked by series (name, one value per label), with a legend."""
    figure, axes = _figure(width, height)
    positions = list(range(len(labels)))
    bottoms = [0] * len(labels)
    colours = ("#5cb85c", "#f0ad4e", QUIET_COLOUR, ACTIVE_COLOUR, TOTAL_COLOUR)
    for index, (name, values) in enumerate(series):
        axes.bar(positions, values, bottom=bottoms, label=name, color=colours[index % len(colours)])
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, fontsize=8)
    if not labels:
        axes.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(title, fontsize=11)
    axes.set_ylabel(ylabel)
    axes.set_xlabel(xlabel)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    if series and labels:
        axes.legend(loc="upper left", fontsize=8, frameon=False)
    return _png(figure)


def share_png(title: str, part: int, whole: int, labels: tuple[str, str], *, size: float = 4.0) -> bytes:
    """A two-slice pie: `part` of `whole` (e.g. partnerships that kept in touch)."""
    figure, axes = _figure(size + 1, size)
    if whole > 0:
        axes.pie(
            [part, max(whole - part, 0)],
            labels=list(labels),
            colors=["#5cb85c", "#cccccc"],
            autopct=lambda pct: f"{pct:.0f}%",
            startangle=90,
        )
        axes.axis("equal")
    else:
        axes.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    axes.set_title(title, fontsize=11)
    return _png(figure)
