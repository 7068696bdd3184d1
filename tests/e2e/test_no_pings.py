"""Mentions in user text never ping. Participants whose names and goals are written to ping everyone,
a role and another member go through a whole round (intros, topics, nudges, a member leaving, the
check-in and the survey, coordinator alerts); then every message the bot sent anywhere is checked
against whom Discord actually pinged."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.clock import ManualClock
from tests.e2e.conftest import START
from tests.e2e.test_faults import CADENCE
from tests.e2e.test_rounds import applicant, partners_by_space
from tests.emulator import Emulator
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

LENGTH = timedelta(hours=4)


async def test_user_text_never_pings_anyone(emu: Emulator, e2e_backend: str, tmp_path: Path) -> None:
    guild = emu.create_guild("International Librarians")
    staff = emu.create_role(guild.id, "Staff")
    bystander = emu.add_member(guild.id, "bystander")
    alerts = emu.create_channel(guild.id, "coordinators")
    members = [emu.add_member(guild.id, f"librarian{i}") for i in range(6)]
    hostile = f"@everyone @here <@&{staff.id}> <@{bystander.id}>"
    people = [
        replace(applicant(m, i), name=f"{hostile} {i}"[:80], goals=f"Say hi {hostile} <@&{guild.id}>")
        for i, m in enumerate(members)
    ]
    url = await fresh_database_url(e2e_backend, tmp_path)
    clock = ManualClock(START)
    async with standalone(emu, url, guild.id, clock) as bot:
        await bot.programmes.update(guild.id, alerts_channel_id=alerts.id)
        await bot.engagement.update_settings(
            guild.id, quiet_after=timedelta(hours=1), grace=timedelta(0), sweep_every=timedelta(minutes=10)
        )
        info = await bot.rounds.create_round(guild.id, "Trial", START, length=LENGTH, cadence=CADENCE)
        await bot.participants.import_applicants(guild.id, people)
        await bot.rounds.preview(guild.id, seed=1)
        check = await bot.rounds.check_launch(guild.id)
        await bot.rounds.start_launch(info.id, check.plan.kind)
        assert not (await bot.rounds.run_launch(info.id)).failures
        partners = await partners_by_space(bot)
        clock.advance(3 * CADENCE)
        await bot.topic_posts.post_due_topics(info.id)
        emu.set_dms_open(members[0].id, False)  # their nudge goes to the space, with a mention
        clock.advance(timedelta(hours=1, minutes=1))
        await bot.engagement.sweep(guild.id)
        clock.advance(timedelta(hours=2))
        await bot.engagement.sweep(guild.id)  # second nudges, then the coordinators' alerts
        emu.remove_member(guild.id, members[1].id)
        await emu.wait_for_message(alerts.id, lambda m: "left the server" in m.content, timeout=10)
        await bot.feedback.send_due(info.id)
        await asyncio.sleep(0.2)  # let the last event handlers finish before counting

    sent = [
        m
        for channel in emu.state.messages.values()
        for m in channel.values()
        if m.author_id == emu.bot_user_id
    ]
    assert len(sent) > 20, len(sent)  # the flow really ran: intros, topics, nudges, check-ins, alerts
    assert any(hostile in m.content or any(hostile in str(e) for e in m.embeds) for m in sent), (
        "no user text shown"
    )
    for message in sent:
        where = f"message {message.id} in {message.channel_id}: {message.content[:80]!r}"
        assert not message.mention_everyone, where
        assert message.mention_roles == [], where
        assert bystander.id not in message.mentions, where
        allowed = partners.get(message.channel_id, set())  # partners, in their own space only
        assert set(message.mentions) <= allowed, where
