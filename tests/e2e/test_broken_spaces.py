"""What changed on Discord while the bot was down: a partner left the server, a space was deleted by
hand, a space's permissions shut the bot out. A restarted bot finds each one (at start-up, or the
first time it posts there), records it, tells the coordinators once, and carries on with the rest."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from bot.models import Match, MatchMember
from tests.e2e.conftest import START
from tests.e2e.test_faults import NUDGE, STARTER, round_with_people
from tests.e2e.test_rounds import partners_by_space
from tests.emulator import Emulator
from tests.emulator import permissions as perms
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

LENGTH = timedelta(hours=4)  # half-time (the check-in) two hours in


async def test_a_restart_finds_what_changed_while_it_was_down(
    emu: Emulator, e2e_backend: str, tmp_path: Path
) -> None:
    guild = emu.create_guild("International Librarians")
    alerts = emu.create_channel(guild.id, "coordinators")
    url = await fresh_database_url(e2e_backend, tmp_path)
    async with standalone(emu, url, guild.id, ManualClock(START)) as bot:
        await bot.programmes.update(guild.id, alerts_channel_id=alerts.id)
        await bot.engagement.update_settings(
            guild.id, quiet_after=timedelta(hours=1), grace=timedelta(0), sweep_every=timedelta(minutes=10)
        )
        round_id = await round_with_people(emu, bot, guild, 4, length=LENGTH)
        check = await bot.rounds.check_launch(guild.id)
        await bot.rounds.start_launch(round_id, check.plan.kind)
        assert not (await bot.rounds.run_launch(round_id)).failures
        spaces = sorted((space, sorted(people)) for space, people in (await partners_by_space(bot)).items())

    # While the bot is down.
    (left_space, (leaver, stayer)), (deleted, _), (refusing, _), (fine, fine_people) = spaces
    emu.remove_member(guild.id, leaver)
    emu.delete_channel(deleted)
    can_read = perms.VIEW_CHANNEL | perms.READ_MESSAGE_HISTORY
    emu.set_overwrite(refusing, emu.bot_user_id, allow=can_read, deny=perms.SEND_MESSAGES)

    clock = ManualClock(START + timedelta(minutes=61))  # everyone has been quiet for an hour
    async with standalone(emu, url, guild.id, clock) as bot:
        assert bot.topic_rebuild is not None
        await asyncio.wait_for(
            asyncio.shield(bot.topic_rebuild), 20
        )  # the topics due by now, and their report
        # At start-up: the partner who left is noticed, as if the bot had seen them go.
        note = await emu.wait_for_message(
            alerts.id, lambda m: "while Tandem was offline" in m.content, timeout=10
        )
        assert f"<@{leaver}>" in note.content
        assert "/round rematch" in note.content
        await emu.wait_for_message(left_space, lambda m: "left" in m.content.lower(), timeout=10)
        # The sweep meets the deleted space and the refusing one.
        await bot.engagement.sweep(guild.id)
        await emu.wait_for_message(alerts.id, lambda m: "was deleted" in m.content, timeout=10)
        refused = await emu.wait_for_message(alerts.id, lambda m: "could not post" in m.content, timeout=10)
        assert f"<#{refusing}>" in refused.content
        assert "missing permissions" in refused.content
        assert len([m for m in emu.messages(fine) if STARTER in m.content]) == 1
        alerts_after_first_sweep = len(emu.messages(alerts.id))
        # Sweeping again, and again, adds nothing: no retry loop, no repeated alert.
        for _ in range(3):
            clock.advance(timedelta(minutes=10))
            await bot.engagement.sweep(guild.id)
        assert len(emu.messages(alerts.id)) == alerts_after_first_sweep
        # Half-time (in so short a round, also the survey's time): both reach the working spaces; the
        # refusing space is reported once for each message, the deleted one is not tried.
        clock.advance(LENGTH / 2)
        sent = await bot.feedback.send_due(round_id)
        assert sent == {"checkin": 2, "survey": 2}, sent  # the fine space and the one whose partner left
        newest = [m.content for m in emu.messages(alerts.id)[alerts_after_first_sweep:]]
        assert len(newest) == 2, newest
        assert all("could not post" in text and f"<#{refusing}>" in text for text in newest)
        async with bot.database.session() as session:
            matches = {m.space_id: m for m in (await session.scalars(select(Match))).all()}
            left_row = await session.scalar(select(MatchMember).where(MatchMember.member_id == leaver))
    assert matches[deleted].space_status == "deleted"
    assert matches[deleted].attention == "space_deleted"
    assert "missing permissions" in (matches[refusing].space_error or "")
    assert matches[fine].space_error is None
    assert left_row is not None
    assert left_row.status == "left"
    assert matches[left_space].attention == "partner_left"
    assert not [m for m in emu.messages(refusing) if m.author_id == emu.bot_user_id and STARTER in m.content]
    assert all(NUDGE not in m.content for p in fine_people for m in emu.dms(p))
    assert stayer != leaver
