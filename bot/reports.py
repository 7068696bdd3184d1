"""Programme reports: a round's figures, its CSV and its chart data, from plain rows. Pure.

The service (bot/checkins.py) reads the database into a `RoundData`; everything here is arithmetic
on that, so the figures can be tested exactly without Discord or a database.

Privacy: a participant who erased their data (`deleted`) is counted in the totals (the round had
them) but appears nowhere by name, country or answer: not in the CSV, not in the country chart
(they count as "withheld"), and their check-in and survey answers are left out.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.validation import escape_csv_cell

ACTIVE_WEEKS = 2  # a partnership is active when every partner wrote within this many weeks
CHECKIN_ANSWERS = ("well", "better", "help")
CHECKIN_LABELS = {"well": "Going well", "better": "Could be better", "help": "Need help"}
RATINGS = (1, 2, 3, 4, 5)
WITHHELD = "withheld"
REPORTED_MATCHES = ("active", "ended")  # proposed and dissolved matches never ran as such

CSV_HEADER = (
    "match_id",
    "match_status",
    "score",
    "partner",
    "country",
    "partner_status",
    "messages",
    "last_message_at",
    "checkin",
    "checkin_at",
    "rating",
    "gained",
    "comments",
    "keep_space",
    "join_next",
)


@dataclass(frozen=True)
class PartnerRow:
    match_member_id: int
    name: str | None
    country: str
    deleted: bool
    status: str  # active, left, moved
    message_count: int
    last_message_at: datetime | None


@dataclass(frozen=True)
class MatchRow:
    match_id: int
    status: str
    score: float
    partners: tuple[PartnerRow, ...]


@dataclass(frozen=True)
class ActivityRow:
    match_member_id: int
    week_start: datetime
    count: int


@dataclass(frozen=True)
class CheckInRow:
    match_member_id: int
    answer: str
    at: datetime


@dataclass(frozen=True)
class SurveyRow:
    match_member_id: int
    rating: int | None
    gained: str | None
    comments: str | None
    keep_space: bool | None
    join_next: bool | None


@dataclass(frozen=True)
class RoundData:
    round_id: int
    name: str
    status: str
    starts_at: datetime
    ends_at: datetime
    matches: tuple[MatchRow, ...]
    activity: tuple[ActivityRow, ...] = ()
    checkins: tuple[CheckInRow, ...] = ()
    surveys: tuple[SurveyRow, ...] = ()


@dataclass(frozen=True)
class RoundReport:
    name: str
    status: str
    matches: int
    participants: int
    deleted: int
    active_partnerships: int
    countries: dict[str, int]  # country code (or "withheld") -> participants, biggest first
    weeks: tuple[datetime, ...]
    messages_per_week: tuple[int, ...]
    total_messages: int
    checkin_answers: dict[str, int]  # answer -> partners, in CHECKIN_ANSWERS order
    checkins_by_week: dict[datetime, dict[str, int]]  # week start -> answer -> count
    survey_responses: int
    ratings: dict[int, int]  # 1..5 -> how many
    mean_rating: float | None
    kept_in_touch: int  # partnerships whose partners all chose to keep their space open
    join_next: int  # partners who chose to join the next round
    csv_rows: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    @property
    def kept_share(self) -> float:
        return self.kept_in_touch / self.matches if self.matches else 0.0

    def summary_lines(self) -> list[str]:
        answered = sum(self.checkin_answers.values())
        checkins = ", ".join(f"{CHECKIN_LABELS[a]} {n}" for a, n in self.checkin_answers.items())
        mean = f"{self.mean_rating:.2f} / 5" if self.mean_rating is not None else "no ratings yet"
        return [
            f"Matches: **{self.matches}**, participants: **{self.participants}**"
            + (f" ({self.deleted} erased their data)" if self.deleted else ""),
            f"Active partnerships (every partner wrote in the last {ACTIVE_WEEKS} weeks): "
            f"**{self.active_partnerships}** of {self.matches}",
            f"Messages: **{self.total_messages}** over {len(self.weeks)} week(s)",
            f"Check-ins answered: **{answered}**" + (f" ({checkins})" if answered else ""),
            f"Survey: **{self.survey_responses}** response(s), mean rating {mean}",
            f"Kept in touch: **{self.kept_in_touch}** of {self.matches} partnerships "
            f"({self.kept_share:.0%}); {self.join_next} partner(s) will join the next round",
        ]

    def csv_bytes(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_HEADER)
        writer.writerows(self.csv_rows)
        return buffer.getvalue().encode("utf-8")


def week_of(moment: datetime) -> datetime:
    """The Monday 00:00 (UTC) that starts the moment's week, as activity weeks are kept."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="minutes") if value else ""


def compute_report(data: RoundData, now: datetime, *, active_weeks: int = ACTIVE_WEEKS) -> RoundReport:
    matches = [m for m in data.matches if m.status in REPORTED_MATCHES]
    partners = [p for m in matches for p in m.partners]
    deleted_ids = {p.match_member_id for p in partners if p.deleted}
    checkins = {c.match_member_id: c for c in data.checkins if c.match_member_id not in deleted_ids}
    surveys = {s.match_member_id: s for s in data.surveys if s.match_member_id not in deleted_ids}

    since = now - timedelta(weeks=active_weeks)
    active = 0
    kept = 0
    for match in matches:
        current = [p for p in match.partners if p.status == "active"]
        if current and all(p.last_message_at is not None and p.last_message_at >= since for p in current):
            active += 1
        choices = [surveys.get(p.match_member_id) for p in current]
        if current and all(s is not None and s.keep_space for s in choices):
            kept += 1

    countries = Counter(WITHHELD if p.deleted else p.country for p in partners)
    member_ids = {p.match_member_id for p in partners}
    per_week: Counter[datetime] = Counter()
    for row in data.activity:
        if row.match_member_id in member_ids:
            per_week[row.week_start] += row.count
    weeks = _weeks(sorted(per_week), data.starts_at, min(now, data.ends_at))
    by_week: dict[datetime, dict[str, int]] = {}
    for row in sorted(checkins.values(), key=lambda c: c.at):
        counts = by_week.setdefault(week_of(row.at), dict.fromkeys(CHECKIN_ANSWERS, 0))
        counts[row.answer] = counts.get(row.answer, 0) + 1
    ratings = dict.fromkeys(RATINGS, 0)
    for survey in surveys.values():
        if survey.rating in ratings:
            ratings[survey.rating] += 1
    rated = sum(ratings.values())
    mean = round(sum(r * n for r, n in ratings.items()) / rated, 2) if rated else None
    answers = Counter(c.answer for c in checkins.values())

    rows = []
    for match in sorted(matches, key=lambda m: m.match_id):
        for p in match.partners:
            if p.deleted:
                continue
            checkin = checkins.get(p.match_member_id)
            survey = surveys.get(p.match_member_id)
            cells: Sequence[object] = (
                match.match_id,
                match.status,
                f"{match.score:.2f}",
                p.name or "",
                p.country,
                p.status,
                p.message_count,
                _time(p.last_message_at),
                checkin.answer if checkin else "",
                _time(checkin.at) if checkin else "",
                survey.rating if survey and survey.rating is not None else "",
                (survey.gained or "") if survey else "",
                (survey.comments or "") if survey else "",
                _yes_no(survey.keep_space) if survey else "",
                _yes_no(survey.join_next) if survey else "",
            )
            rows.append(tuple(escape_csv_cell(cell) for cell in cells))

    return RoundReport(
        name=data.name,
        status=data.status,
        matches=len(matches),
        participants=len(partners),
        deleted=len(deleted_ids),
        active_partnerships=active,
        countries=dict(sorted(countries.items(), key=lambda item: (-item[1], item[0]))),
        weeks=tuple(weeks),
        messages_per_week=tuple(per_week.get(week, 0) for week in weeks),
        total_messages=sum(per_week.values()),
        checkin_answers={a: answers.get(a, 0) for a in CHECKIN_ANSWERS},
        checkins_by_week=dict(sorted(by_week.items())),
        survey_responses=sum(1 for s in surveys.values() if s.rating is not None),
        ratings=ratings,
        mean_rating=mean,
        kept_in_touch=kept,
        join_next=sum(1 for s in surveys.values() if s.join_next),
        csv_rows=tuple(rows),
    )


def _weeks(seen: Sequence[datetime], start: datetime, end: datetime) -> list[datetime]:
    """Every week from the round's start to its end (or now), plus any week with activity."""
    weeks = set(seen)
    if end >= start:
        week = week_of(start)
        while week <= end and len(weeks) < 200:
            weeks.add(week)
            week += timedelta(weeks=1)
    return sorted(weeks)


def report_pngs(report: RoundReport) -> list[tuple[str, bytes]]:
    """The report's charts as (file name, PNG bytes). Slow (matplotlib): call it in a thread."""
    from bot.charts import bar_chart_png, share_png, stacked_bars_png

    weeks = [f"{week:%d %b}" for week in report.weeks]
    checkin_weeks = list(report.checkins_by_week)
    return [
        (
            "participants-by-country.png",
            bar_chart_png(
                f"{report.name}: participants by country",
                list(report.countries),
                list(report.countries.values()),
                ylabel="participants",
            ),
        ),
        (
            "weekly-activity.png",
            bar_chart_png(
                f"{report.name}: messages per week",
                weeks,
                report.messages_per_week,
                ylabel="messages",
                xlabel="week starting (UTC)",
            ),
        ),
        (
            "check-ins.png",
            stacked_bars_png(
                f"{report.name}: check-in answers",
                [f"{week:%d %b}" for week in checkin_weeks],
                [
                    (CHECKIN_LABELS[a], [report.checkins_by_week[w].get(a, 0) for w in checkin_weeks])
                    for a in CHECKIN_ANSWERS
                ],
                ylabel="partners",
                xlabel="week of the answer (UTC)",
            ),
        ),
        (
            "survey-ratings.png",
            bar_chart_png(
                f"{report.name}: survey ratings",
                [str(r) for r in report.ratings],
                list(report.ratings.values()),
                ylabel="partners",
                xlabel="rating (1 to 5)",
            ),
        ),
        (
            "kept-in-touch.png",
            share_png(
                f"{report.name}: partnerships that kept in touch",
                report.kept_in_touch,
                report.matches,
                ("kept in touch", "closed"),
            ),
        ),
    ]
