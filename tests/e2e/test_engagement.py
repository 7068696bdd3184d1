"""Engagement end to end: activity in the spaces, nudges by DM or in the space, the escalation alert
and its buttons, restarts, and the /round status chart, against the emulator with a ManualClock and
short durations (quiet after 1h, no grace)."""

from __future__ import annotations

import asyncio
import struct
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import TandemBot
from bot.charts import PNG_SIGNATURE
from bot.clock import ManualClock
from bot.models import Match, MatchMember
from tests.e2e.conftest import START, Programme
from tests.e2e.test_rounds import applicant, confirm_launch, create_and_preview, partners_by_space
from tests.emulator import Emulator, Member, Message
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

NUDGE = "little while"  # in every nudge, DM or space


@pytest.fixture(autouse=True)
def coordinators_may_use_the_commands(request: pytest.FixtureRequest) -> None:
    if "programme" in request.fixturenames:
        programme: Programme = request.getfixturevalue("programme")
        for command in ("round", "nudge"):
            programme.emu.commands_opened_to_everyone.add((programme.guild.id, command))


async def short_settings(programme: Programme) -> None:
    answer = await programme.run(
        programme.coordinator, "nudge settings", quiet_after="1h", grace="0s", sweep_every="5m"
    )
    assert "saved" in (answer.content or ""), answer.content


async def launch(programme: Programme, people: int) -> list[tuple[int, list[int]]]:
    """Settings, an alerts channel, a launched round; (space id, partner ids) per match."""
    await short_settings(programme)
    alerts = programme.emu.create_channel(programme.guild.id, "coordinators")
    await programme.bot.programmes.update(programme.guild.id, alerts_channel_id=alerts.id)
    await create_and_preview(programme, people)
    await confirm_launch(programme)
    spaces = await partners_by_space(programme.bot)
    return [(space, sorted(members)) for space, members in sorted(spaces.items())]


def alerts_channel(programme: Programme) -> int:
    return programme.emu.channel_named(programme.guild.id, "coordinators").id


async def count(bot: TandemBot, member_id: int) -> int:
    async with bot.database.session() as session:
        return sum(
            (
                await session.scalars(
                    select(MatchMember.message_count).where(MatchMember.member_id == member_id)
                )
            ).all()
        )


async def write(programme: Programme, member_id: int, space: int) -> None:
    """`member_id` writes in their space; returns once the bot has counted it."""
    before = await count(programme.bot, member_id)
    await programme.emu.send_message(member_id, space, "hello!")
    deadline = time.monotonic() + 5
    while await count(programme.bot, member_id) <= before:
        assert time.monotonic() < deadline, "the message was not counted"
        await asyncio.sleep(0.02)


def nudges_to(emu: Emulator, member_id: int) -> list[Message]:
    return [m for m in emu.dms(member_id) if NUDGE in m.content]


async def tick(programme: Programme, writers: list[tuple[int, int]]) -> None:
    """An hour passes: the writers write just before it ends, then the sweep runs."""
    programme.clock.advance(timedelta(minutes=59))
    for member_id, space in writers:
        await write(programme, member_id, space)
    programme.clock.advance(timedelta(minutes=1))
    await programme.bot.engagement.sweep(programme.guild.id)


async def escalate(programme: Programme) -> tuple[Message, int, int, int, list[tuple[int, list[int]]]]:
    """Two matches; in the first, one partner writes and the other never answers two nudges."""
    spaces = await launch(programme, 4)
    (space, (quiet, active)), (other, (c, d)) = spaces
    writers = [(active, space), (c, other), (d, other)]
    for _ in range(3):
        await tick(programme, writers)
    alerts = alerts_channel(programme)
    alert = await programme.emu.wait_for_message(alerts, lambda m: "may be fading" in m.content, timeout=5)
    async with programme.bot.database.session() as session:
        match_id = await session.scalar(select(Match.id).where(Match.space_id == space))
    assert match_id is not None
    return alert, match_id, quiet, active, spaces


# -- nudges ----------------------------------------------------------------------------------------


async def test_a_quiet_partner_gets_exactly_one_dm_and_the_active_one_none(programme: Programme) -> None:
    emu = programme.emu
    (space, (quiet, active)), (other, (c, d)) = await launch(programme, 4)
    programme.clock.advance(timedelta(minutes=30))
    for member_id, where in ((active, space), (c, other), (d, other)):
        await write(programme, member_id, where)
    await emu.send_message(
        programme.coordinator.id, emu.channel_named(programme.guild.id, "general").id, "hi"
    )
    programme.clock.advance(timedelta(minutes=31))
    for _ in range(3):  # the sweep is idempotent
        await programme.bot.engagement.sweep(programme.guild.id)
    dm = await emu.wait_for_dm(quiet, lambda m: NUDGE in m.content)
    assert len(nudges_to(emu, quiet)) == 1
    assert f"/{space}" in dm.content
    assert "current topic" in dm.content
    for member_id in (active, c, d):
        assert not nudges_to(emu, member_id)
    assert not any(NUDGE in m.content for m in emu.messages(space))


async def test_closed_dms_send_the_nudge_to_the_space_with_a_mention(programme: Programme) -> None:
    emu = programme.emu
    (space, (quiet, active)), _ = await launch(programme, 4)
    emu.set_dms_open(quiet, False)
    programme.clock.advance(timedelta(minutes=30))
    await write(programme, active, space)
    programme.clock.advance(timedelta(minutes=31))
    await programme.bot.engagement.sweep(programme.guild.id)
    posted = await emu.wait_for_message(space, lambda m: NUDGE in m.content)
    assert f"<@{quiet}>" in posted.content
    assert set(posted.mentions) == {quiet}
    assert not nudges_to(emu, quiet)


async def test_a_quiet_space_gets_one_message_for_both_partners(programme: Programme) -> None:
    emu = programme.emu
    ((space, partners),) = await launch(programme, 2)
    programme.clock.advance(timedelta(hours=1))
    await programme.bot.engagement.sweep(programme.guild.id)
    await programme.bot.engagement.sweep(programme.guild.id)
    posted = [m for m in emu.messages(space) if "conversation starter" in m.content]
    assert len(posted) == 1
    assert set(posted[0].mentions) == set(partners)
    assert all(not nudges_to(emu, p) for p in partners)


# -- escalation and the alert buttons ---------------------------------------------------------


async def test_the_alert_comes_after_the_second_unanswered_nudge_and_nudge_again_works(
    programme: Programme,
) -> None:
    emu, guild = programme.emu, programme.guild.id
    alert, match_id, quiet, active, spaces = await escalate(programme)
    assert len(nudges_to(emu, quiet)) == 2
    assert not alert.mentions  # the alert names partners without pinging anyone
    assert f"<@{quiet}>" in alert.content
    ids = {c["custom_id"] for row in alert.components for c in row["components"]}
    assert ids == {f"tandem:alert:{match_id}:{action}" for action in ("nudge", "rematch", "end")}
    # Exactly one alert, whatever the sweep does next.
    await programme.bot.engagement.sweep(guild)
    assert sum("may be fading" in m.content for m in emu.messages(alerts_channel(programme))) == 1

    refused = await emu.click(guild, spaces[1][1][0], alert, f"tandem:alert:{match_id}:nudge")
    answer = await refused.response()
    assert answer.ephemeral
    assert "Only the programme's coordinators" in (answer.content or "")
    assert len(nudges_to(emu, quiet)) == 2

    click = await emu.click(guild, programme.coordinator.id, alert, f"tandem:alert:{match_id}:nudge")
    await click.response()
    await emu.wait_for(lambda: len(nudges_to(emu, quiet)) == 3)
    edited = await emu.wait_for(lambda: "Nudged again" in emu.messages(alerts_channel(programme))[-1].content)
    assert edited
    last = emu.messages(alerts_channel(programme))[-1]
    assert not last.components
    assert not nudges_to(emu, active)


async def test_offer_a_rematch_from_the_alert(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    alert, match_id, _quiet, active, spaces = await escalate(programme)
    click = await emu.click(guild, programme.coordinator.id, alert, f"tandem:alert:{match_id}:rematch")
    offer = await click.response()
    assert offer.ephemeral
    assert offer.message is not None, offer.content
    assert "Options for" in (offer.content or "")
    select_id = offer.message.components[0]["components"][0]["custom_id"]
    picked = await emu.select(guild, programme.coordinator.id, offer, select_id, ["0"])
    await picked.response()
    done = await picked.wait_original(lambda m: m.content.startswith("Done."), timeout=10)
    assert "now shares" in done.content
    after = await partners_by_space(programme.bot)
    assert active in after[spaces[1][0]]
    await emu.wait_for(lambda: "was rematched" in emu.messages(alerts_channel(programme))[-1].content)


async def test_end_the_match_from_the_alert(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    alert, match_id, quiet, active, spaces = await escalate(programme)
    space = spaces[0][0]
    click = await emu.click(guild, programme.coordinator.id, alert, f"tandem:alert:{match_id}:end")
    await click.response()
    await emu.wait_for(lambda: "has ended" in emu.messages(alerts_channel(programme))[-1].content)
    for member_id in (quiet, active):
        await emu.wait_for_dm(member_id, lambda m: "has been closed" in m.content)
        bits = emu.permissions_for(member_id, space)
        assert not bits & 0x800  # SEND_MESSAGES: read-only now
    assert any("closed this partnership" in m.content for m in emu.messages(space))
    async with programme.bot.database.session() as session:
        match = await session.get(Match, match_id)
    assert match is not None
    assert (match.status, match.space_status) == ("ended", "closed")


async def test_the_weekly_digest_reaches_the_alerts_channel_once(programme: Programme) -> None:
    emu = programme.emu
    ((space, (a, _b)),) = await launch(programme, 2)
    await write(programme, a, space)
    programme.clock.advance(timedelta(days=7))
    await programme.bot.engagement.sweep(programme.guild.id)
    await programme.bot.engagement.sweep(programme.guild.id)
    digests = [m for m in emu.messages(alerts_channel(programme)) if "Weekly digest" in m.content]
    assert len(digests) == 1
    assert "Spring 2026" in digests[0].content
    assert not digests[0].components
    assert not digests[0].mentions


# -- status, settings ---------------------------------------------------------------------------


async def test_round_status_shows_the_health_and_a_png_chart(programme: Programme) -> None:
    (space, (a, b)), (_other, _) = await launch(programme, 4)
    for _ in range(3):
        await write(programme, a, space)
    await write(programme, b, space)
    programme.clock.advance(timedelta(hours=2))
    await write(programme, a, space)
    await write(programme, b, space)
    handle = await programme.emu.slash(programme.guild.id, programme.coordinator.id, "round status", {})
    answer = await handle.response()
    assert "Health: 1 active, 1 quiet, 0 at risk (of 2 matches)" in (answer.content or ""), answer.content
    assert "Partners who never wrote: 2" in (answer.content or "")
    final = await handle.wait_original(lambda m: bool(m.attachments), timeout=15)
    (chart,) = final.attachments
    assert chart.filename == "activity.png"
    assert chart.data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", chart.data[16:24])
    assert (width, height) == (800, 400)
    assert len(chart.data) > 10_000


async def test_nudge_settings_are_validated_and_reschedule_the_sweep(programme: Programme) -> None:
    guild = programme.guild.id
    shown = await programme.run(programme.coordinator, "nudge settings")
    assert "quiet after 1w" in (shown.content or ""), shown.content
    job = programme.bot.scheduler.get_job(f"tandem:nudge-sweep:{guild}")
    assert job is not None
    assert job.trigger.interval == timedelta(hours=1)
    bad = await programme.run(programme.coordinator, "nudge settings", quiet_after="30m")
    assert "between 1 hour and 60 days" in (bad.content or "")
    typo = await programme.run(programme.coordinator, "nudge settings", grace="soon")
    assert "`grace`" in (typo.content or "")
    await short_settings(programme)
    job = programme.bot.scheduler.get_job(f"tandem:nudge-sweep:{guild}")
    assert job is not None
    assert job.trigger.interval == timedelta(minutes=5)
    member = programme.add_member("mia")
    refused = await programme.run(member, "nudge settings", max_nudges=3)
    assert "Only the programme's coordinators" in (refused.content or "")


# -- restarts -----------------------------------------------------------------------------------


async def test_a_restart_does_not_repeat_a_nudge(emu: Emulator, e2e_backend: str, tmp_path: Path) -> None:
    guild = emu.create_guild("International Librarians")
    members: list[Member] = [emu.add_member(guild.id, f"librarian{i}") for i in range(2)]
    url = await fresh_database_url(e2e_backend, tmp_path)
    clock = ManualClock(START)
    async with standalone(emu, url, guild.id, clock) as bot:
        await bot.engagement.update_settings(
            guild.id, quiet_after=timedelta(hours=1), grace=timedelta(0), sweep_every=timedelta(minutes=10)
        )
        await bot.rounds.create_round(guild.id, "Spring 2026", START)
        await bot.participants.import_applicants(guild.id, [applicant(m, i) for i, m in enumerate(members)])
        await bot.rounds.preview(guild.id)
        check = await bot.rounds.check_launch(guild.id)
        await bot.rounds.start_launch(check.round.id, check.plan.kind)
        await bot.rounds.run_launch(check.round.id)
        ((space, (quiet, active)),) = [(s, sorted(p)) for s, p in (await partners_by_space(bot)).items()]
        clock.advance(timedelta(minutes=30))
        await emu.send_message(active, space, "anyone there?")
        deadline = time.monotonic() + 5
        while await count(bot, active) < 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        clock.advance(timedelta(minutes=31))
        await bot.engagement.sweep(guild.id)
        await emu.wait_for_dm(quiet, lambda m: NUDGE in m.content)
    assert len(nudges_to(emu, quiet)) == 1
    clock.advance(timedelta(minutes=20))
    async with standalone(emu, url, guild.id, clock) as bot:
        job = bot.scheduler.get_job(f"tandem:nudge-sweep:{guild.id}")
        assert job is not None, "the sweep job is rebuilt at start-up"
        assert job.trigger.interval == timedelta(minutes=10)
        await bot.engagement.sweep(guild.id)
        await bot.engagement.sweep(guild.id)
        await asyncio.sleep(0.2)
    assert len(nudges_to(emu, quiet)) == 1
    assert not nudges_to(emu, active)
