"""The nudge policy, pure: table tests over time, and properties that hold for any history."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nudges import (
    DM,
    GROUP,
    MatchFacts,
    NudgePolicy,
    PartnerFacts,
    SentNudge,
    decide,
    next_due,
    partner_state,
)

LAUNCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
END = LAUNCH + timedelta(weeks=16)
DAY = timedelta(days=1)
POLICY = NudgePolicy()  # quiet after 7 days, 2 nudges, 3 days' grace


def at(days: float) -> datetime:
    return LAUNCH + timedelta(days=days)


def partner(key: int, wrote: float | None = None, **kwargs: object) -> PartnerFacts:
    return PartnerFacts(
        key=key,
        member_id=1000 + key,
        last_message_at=at(wrote) if wrote is not None else None,
        **kwargs,  # type: ignore[arg-type]
    )


def match(*partners: PartnerFacts, running: bool = True, alert_open: bool = False) -> MatchFacts:
    return MatchFacts(1, LAUNCH, END, running, tuple(partners), alert_open)


def nudged(p: PartnerFacts, number: int, days: float, answered: bool = False) -> PartnerFacts:
    since = p.last_message_at or LAUNCH
    return replace(p, nudges=(*p.nudges, SentNudge(since, number, at(days), answered)))


def summary(
    facts: MatchFacts, now: datetime, policy: NudgePolicy = POLICY
) -> list[tuple[str, tuple[int, ...]]]:
    decision = decide(facts, policy, now)
    out = [(a.kind, a.keys) for a in decision.nudges]
    if decision.escalation is not None:
        out.append(("alert", decision.escalation.keys))
    if decision.recovered:
        out.append(("recovered", ()))
    return out


# -- table tests --------------------------------------------------------------------------------

CASES = [
    # (description, facts, day, expected)
    ("both active", match(partner(1, 5), partner(2, 6)), 8, []),
    (
        "one quiet, partner wrote: a DM for the quiet one",
        match(partner(1, 0.5), partner(2, 6)),
        8,
        [(DM, (1,))],
    ),
    ("not quiet yet", match(partner(1, 2), partner(2, 6)), 8.9, []),
    ("quiet exactly at quiet_after", match(partner(1, 1), partner(2, 6)), 8, [(DM, (1,))]),
    ("both never wrote: one message in the space", match(partner(1), partner(2)), 7, [(GROUP, (1, 2))]),
    ("both quiet: one group message", match(partner(1, 0.5), partner(2, 0.5)), 7.5, [(GROUP, (1, 2))]),
    ("inside the grace period", match(partner(1), partner(2)), 2, []),
    ("paused partner: nobody nudges them", match(partner(1, paused=True), partner(2, 6)), 8, []),
    (
        "pause with an end date that passed",
        match(partner(1, paused=True, paused_until=at(5)), partner(2, 6)),
        8,
        [(DM, (1,))],
    ),
    ("withdrawn partner", match(partner(1, eligible=False), partner(2, 6)), 8, []),
    ("round not running", match(partner(1), partner(2), running=False), 8, []),
    ("after the round's end", match(partner(1), partner(2)), 7 * 16 + 1, []),
    (
        "a paused partner does not hide the quiet space: the other gets the space message",
        match(partner(1, paused=True), partner(2)),
        8,
        [(GROUP, (2,))],
    ),
    (
        "trio: the quiet one gets a DM",
        match(partner(1, 6), partner(2, 6), partner(3)),
        8,
        [(DM, (3,))],
    ),
]


@pytest.mark.parametrize(("facts", "day", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_policy_table(facts: MatchFacts, day: float, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    assert summary(facts, at(day)) == expected


def test_one_nudge_per_quiet_period_then_another_only_after_quiet_after() -> None:
    quiet = partner(1, 0)
    facts = match(quiet, partner(2, 6.5))
    assert summary(facts, at(7)) == [(DM, (1,))]
    for day in (7, 8, 10, 13.9):
        once = match(nudged(quiet, 1, 7), partner(2, day - 0.5))  # the partner keeps writing
        assert summary(once, at(day)) == [], day
    once = match(nudged(quiet, 1, 7), partner(2, 13.5))
    assert decide(once, POLICY, at(14)).nudges[0].numbers == (2,)


def test_escalation_after_max_unanswered_nudges_comes_when_the_next_would_be_due() -> None:
    quiet = nudged(nudged(partner(1, 0), 1, 7), 2, 14)
    facts = match(quiet, partner(2, 20))
    assert summary(facts, at(20)) == []
    assert summary(facts, at(21)) == [("alert", (1,))]
    escalation = decide(facts, POLICY, at(21)).escalation
    assert escalation is not None
    assert escalation.nudges == (2,)
    # The same silence is not alerted twice, and never while an alert is open.
    alerted = replace(quiet, alerted=frozenset({(at(0), 2)}))
    assert summary(match(alerted, partner(2, 29)), at(30)) == []
    assert summary(match(quiet, partner(2, 29), alert_open=True), at(30)) == []


def test_writing_again_answers_the_nudges_and_recovers_an_open_alert() -> None:
    quiet = nudged(nudged(partner(1, 0), 1, 7), 2, 14)
    wrote = replace(quiet, last_message_at=at(22))
    assert summary(match(wrote, partner(2, 20), alert_open=True), at(23)) == [("recovered", ())]
    state = partner_state(wrote, match(wrote), POLICY, at(23))
    assert state.unanswered == 0
    assert not state.at_risk


def test_answered_nudges_do_not_count() -> None:
    quiet = nudged(partner(1, 0), 1, 7, answered=True)
    assert partner_state(quiet, match(quiet), POLICY, at(8)).unanswered == 0


def test_short_durations_work_the_same() -> None:
    policy = NudgePolicy(quiet_after=timedelta(hours=1), max_nudges=2, grace=timedelta(0))
    facts = match(partner(1), partner(2, 0.01))
    assert summary(facts, LAUNCH + timedelta(minutes=59), policy) == []
    assert summary(facts, LAUNCH + timedelta(hours=1), policy) == [(DM, (1,))]


def test_next_due_names_the_first_moment_something_may_happen() -> None:
    facts = match(partner(1, 1), partner(2, 2))
    assert next_due(facts, POLICY, at(3)) == at(8)
    assert next_due(match(partner(1), running=False), POLICY, at(3)) is None


# -- properties -----------------------------------------------------------------------------------

hours = st.integers(min_value=0, max_value=24 * 7 * 18)


@st.composite
def histories(draw: st.DrawFn) -> tuple[MatchFacts, NudgePolicy, list[int]]:
    size = draw(st.integers(min_value=1, max_value=3))
    people = []
    for key in range(1, size + 1):
        people.append(
            PartnerFacts(
                key=key,
                member_id=1000 + key,
                eligible=draw(st.booleans()),
                paused=draw(st.booleans()),
                paused_until=draw(st.none() | hours.map(lambda h: LAUNCH + timedelta(hours=h))),
            )
        )
    policy = NudgePolicy(
        quiet_after=timedelta(hours=draw(st.integers(min_value=1, max_value=24 * 14))),
        max_nudges=draw(st.integers(min_value=1, max_value=3)),
        grace=timedelta(hours=draw(st.integers(min_value=0, max_value=24 * 5))),
    )
    facts = MatchFacts(1, LAUNCH, END, draw(st.booleans()), tuple(people))
    # When each partner writes (hours after the launch), in time order.
    writes = sorted(draw(st.lists(st.tuples(hours, st.integers(1, size)), max_size=12)))
    ticks = sorted(set(draw(st.lists(hours, min_size=1, max_size=60))))
    return facts, policy, [*writes, *ticks]  # type: ignore[list-item]


def simulate(
    facts: MatchFacts, policy: NudgePolicy, steps: list[object]
) -> list[tuple[int, datetime, datetime]]:
    """Run the sweep at every tick, applying each nudge, and writes as they come; (key, since, at)."""
    writes = sorted(s for s in steps if isinstance(s, tuple))
    ticks = sorted(s for s in steps if isinstance(s, int))
    sent: list[tuple[int, datetime, datetime]] = []
    people = {p.key: p for p in facts.partners}
    events = sorted([(h, 0, key) for h, key in writes] + [(h, 1, 0) for h in ticks])
    for hour, kind, key in events:
        now = LAUNCH + timedelta(hours=hour)
        if kind == 0:
            person = people[key]
            people[key] = replace(
                person,
                last_message_at=now,
                nudges=tuple(replace(n, answered=True) for n in person.nudges),
            )
            continue
        current = replace(facts, partners=tuple(people.values()))
        for action in decide(current, policy, now).nudges:
            for who, since, number in zip(action.keys, action.quiet_since, action.numbers, strict=True):
                sent.append((who, since, now))
                person = people[who]
                people[who] = replace(person, nudges=(*person.nudges, SentNudge(since, number, now)))
    return sent


@settings(max_examples=300, deadline=None)
@given(histories())
def test_nobody_outside_the_rules_is_ever_nudged(case: tuple[MatchFacts, NudgePolicy, list[object]]) -> None:
    facts, policy, steps = case
    by_key = {p.key: p for p in facts.partners}
    for who, _since, when in simulate(facts, policy, steps):
        person = by_key[who]
        assert facts.running
        assert person.eligible
        assert not person.is_paused(when)
        assert facts.launched_at + policy.grace <= when < facts.ends_at


@settings(max_examples=300, deadline=None)
@given(histories())
def test_never_two_nudges_within_quiet_after_nor_past_max(
    case: tuple[MatchFacts, NudgePolicy, list[object]],
) -> None:
    facts, policy, steps = case
    sent = simulate(facts, policy, steps)
    per_period: dict[tuple[int, datetime], list[datetime]] = {}
    for who, since, when in sent:
        per_period.setdefault((who, since), []).append(when)
        assert when - since >= policy.quiet_after  # only quiet partners
    for times in per_period.values():
        assert len(times) <= policy.max_nudges
        assert all(b - a >= policy.quiet_after for a, b in itertools.pairwise(times))
