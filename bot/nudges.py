"""The nudge policy: who, in one match, gets what reminder at `now`. Pure: no Discord, no database.

The service (bot/engagement.py) gathers the facts about a match and its partners, asks `decide`, and
carries the answer out. The rules (ILN asked partners to reply within a week):

- A partner is *quiet* when they have not written in the space for `quiet_after`. Their *quiet
  period* starts at their last message, or at the launch if they never wrote; it ends when they
  write again.
- Nobody is nudged outside a running round, in the `grace` period after the launch, while paused,
  or once withdrawn, moved out or deleted (`eligible` is False).
- In a space where someone has written lately, each quiet partner gets a direct message (`DM`).
  When every partner is quiet, the space gets one message addressed to the partners due (`GROUP`).
- Each nudge is numbered within its quiet period (1, 2, …) and is due `quiet_after` after the later
  of the period's start and the previous nudge: so one nudge per period, the next only after
  another `quiet_after`. The service claims a row unique per (partner, period start, number)
  before sending, so a re-run or a restart never repeats one.
- After `max_nudges` unanswered nudges, when the next would be due, the coordinators are alerted
  instead (`Escalation`): at most one open alert per match, and one per (partner, period, count).
- An open alert whose partners are all out of danger (they wrote, left or paused) is `recovered`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DM = "dm"
GROUP = "group"
MANUAL = "manual"
SPACE = "space"  # where a DM nudge goes when the partner's DMs are closed

DEFAULT_QUIET_AFTER = timedelta(days=7)
DEFAULT_MAX_NUDGES = 2
DEFAULT_GRACE = timedelta(days=3)
DEFAULT_SWEEP_EVERY = timedelta(hours=1)

MIN_QUIET_AFTER, MAX_QUIET_AFTER = timedelta(hours=1), timedelta(days=60)
MIN_MAX_NUDGES, MAX_MAX_NUDGES = 1, 5
MAX_GRACE = timedelta(days=30)
MIN_SWEEP_EVERY, MAX_SWEEP_EVERY = timedelta(minutes=1), timedelta(days=1)


@dataclass(frozen=True)
class NudgePolicy:
    quiet_after: timedelta = DEFAULT_QUIET_AFTER
    max_nudges: int = DEFAULT_MAX_NUDGES
    grace: timedelta = DEFAULT_GRACE


@dataclass(frozen=True)
class SentNudge:
    quiet_since: datetime  # the start of the quiet period it was sent in
    number: int  # 1, 2, … within that period
    at: datetime
    answered: bool = False


@dataclass(frozen=True)
class PartnerFacts:
    key: int  # the match member's row id
    member_id: int
    last_message_at: datetime | None = None
    eligible: bool = True  # enrolled, in the match, not deleted
    paused: bool = False
    paused_until: datetime | None = None
    nudges: tuple[SentNudge, ...] = ()
    alerted: frozenset[tuple[datetime, int]] = frozenset()  # (quiet_since, nudges) already escalated

    def is_paused(self, now: datetime) -> bool:
        return self.paused and (self.paused_until is None or self.paused_until > now)


@dataclass(frozen=True)
class MatchFacts:
    match_id: int
    launched_at: datetime
    ends_at: datetime
    running: bool  # the round is launched and the match active
    partners: tuple[PartnerFacts, ...]
    alert_open: bool = False


@dataclass(frozen=True)
class NudgeAction:
    kind: str  # DM (one partner) or GROUP (one message in the space)
    keys: tuple[int, ...]  # the partners nudged
    quiet_since: tuple[datetime, ...]  # each one's period start, in the same order
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class Escalation:
    keys: tuple[int, ...]
    quiet_since: tuple[datetime, ...]
    nudges: tuple[int, ...]  # unanswered nudges of each


@dataclass(frozen=True)
class Decision:
    nudges: tuple[NudgeAction, ...] = ()
    escalation: Escalation | None = None
    recovered: bool = False

    @property
    def empty(self) -> bool:
        return not self.nudges and self.escalation is None and not self.recovered


@dataclass(frozen=True)
class PartnerState:
    """What the policy makes of one partner at `now` (also used for the round's health figures)."""

    key: int
    quiet_since: datetime
    quiet: bool
    nudgeable: bool
    unanswered: int  # nudges sent in the current quiet period
    due_at: datetime  # when the next nudge (or the alert) is due
    at_risk: bool  # unanswered ≥ max_nudges
    last_nudge_at: datetime | None = None


def in_play(match: MatchFacts, policy: NudgePolicy, now: datetime) -> bool:
    """Nudges happen only while the round runs, after the grace period."""
    return match.running and match.launched_at + policy.grace <= now < match.ends_at


def partner_state(
    partner: PartnerFacts, match: MatchFacts, policy: NudgePolicy, now: datetime
) -> PartnerState:
    since = partner.last_message_at or match.launched_at
    current = [n for n in partner.nudges if n.quiet_since == since and not n.answered]
    last = max((n.at for n in current), default=None)
    anchor = max(since, last) if last is not None else since
    quiet = now - since >= policy.quiet_after
    return PartnerState(
        key=partner.key,
        quiet_since=since,
        quiet=quiet,
        nudgeable=partner.eligible and not partner.is_paused(now),
        unanswered=len(current),
        due_at=anchor + policy.quiet_after,
        at_risk=len(current) >= policy.max_nudges,
        last_nudge_at=last,
    )


def decide(match: MatchFacts, policy: NudgePolicy, now: datetime) -> Decision:
    """The nudges to send and the alert to raise for one match at `now`."""
    states = [partner_state(p, match, policy, now) for p in match.partners]
    by_key = {p.key: p for p in match.partners}
    candidates = [s for s in states if s.nudgeable]
    recovered = match.alert_open and not any(s.at_risk and s.quiet for s in candidates)
    if not in_play(match, policy, now):
        return Decision(recovered=recovered and match.running)
    present = [s for s, p in zip(states, match.partners, strict=True) if p.eligible]
    whole_space_quiet = bool(present) and all(s.quiet for s in present)
    due = [s for s in candidates if s.quiet and s.due_at <= now]
    to_nudge = [s for s in due if not s.at_risk]
    to_alert = [s for s in due if s.at_risk and (s.quiet_since, s.unanswered) not in by_key[s.key].alerted]
    actions: list[NudgeAction] = []
    if to_nudge and whole_space_quiet:
        actions.append(
            NudgeAction(
                GROUP,
                tuple(s.key for s in to_nudge),
                tuple(s.quiet_since for s in to_nudge),
                tuple(s.unanswered + 1 for s in to_nudge),
            )
        )
    else:
        actions.extend(NudgeAction(DM, (s.key,), (s.quiet_since,), (s.unanswered + 1,)) for s in to_nudge)
    escalation = None
    if to_alert and not match.alert_open:
        escalation = Escalation(
            tuple(s.key for s in to_alert),
            tuple(s.quiet_since for s in to_alert),
            tuple(s.unanswered for s in to_alert),
        )
    return Decision(tuple(actions), escalation, recovered and escalation is None)


def next_due(match: MatchFacts, policy: NudgePolicy, now: datetime) -> datetime | None:
    """The earliest moment something may happen for this match (for tools and tests)."""
    if not match.running or now >= match.ends_at:
        return None
    times = [
        max(s.due_at, s.quiet_since + policy.quiet_after, match.launched_at + policy.grace)
        for s in (partner_state(p, match, policy, now) for p in match.partners)
        if s.nudgeable
    ]
    return min(times, default=None)


def matches_at_risk(states: Sequence[PartnerState]) -> bool:
    return any(s.at_risk and s.quiet and s.nudgeable for s in states)
