"""Rounds end to end: /round create, preview, launch, status, end, rematch, against the emulator.

Privacy is checked the hard way: every member of the guild against every space."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import TandemBot
from bot.matching.model import Applicant
from bot.models import Match, MatchMember, Round
from tests.e2e.conftest import START, Programme
from tests.emulator import Emulator, InteractionHandle, Member
from tests.emulator import permissions as perms
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url
from tests.support.privacy import rows_holding

PLACES = [
    ("CL", "America/Santiago", {"es", "en"}),
    ("JP", "Asia/Tokyo", {"ja", "en"}),
    ("KE", "Africa/Nairobi", {"sw", "en"}),
    ("DE", "Europe/Berlin", {"de", "en"}),
    ("BR", "America/Sao_Paulo", {"pt", "en"}),
    ("IN", "Asia/Kolkata", {"hi", "en"}),
]


def applicant(member: Member, index: int) -> Applicant:
    country, zone, languages = PLACES[index % len(PLACES)]
    return Applicant(
        member_id=member.id,
        name=f"Librarian {index}",
        country=country,
        timezone=zone,
        languages=frozenset(languages),
        sector="public",
        career_stage="mid",
        interests=frozenset({"open access", "community outreach"}),
        goals="Compare notes",
    )


async def enrol(programme: Programme, count: int) -> list[Member]:
    members = [programme.add_member(f"librarian{i}") for i in range(count)]
    people = [applicant(m, i) for i, m in enumerate(members)]
    await programme.bot.participants.import_applicants(programme.guild.id, people)
    return members


@pytest.fixture(autouse=True)
def coordinators_may_use_round(request: pytest.FixtureRequest) -> None:
    """The server admin lets the coordinator role use /round (as the README tells them to)."""
    if "programme" in request.fixturenames:
        programme: Programme = request.getfixturevalue("programme")
        programme.emu.commands_opened_to_everyone.add((programme.guild.id, "round"))


async def run(programme: Programme, command: str, **options: Any) -> InteractionHandle:
    return await programme.emu.slash(programme.guild.id, programme.coordinator.id, command, options)


async def create_and_preview(programme: Programme, count: int) -> list[Member]:
    answer = await programme.run(programme.coordinator, "round create", name="Spring 2026", starts="now")
    assert answer.ephemeral
    assert "open for signups" in (answer.content or ""), answer.content
    members = await enrol(programme, count)
    handle = await run(programme, "round preview")
    assert (await handle.response()).deferred
    original = await handle.wait_original(timeout=20)
    assert "Preview of Spring 2026" in original.content
    assert original.attachments
    assert original.attachments[0].filename.endswith(".csv")
    return members


async def confirm_launch(programme: Programme, timeout: float = 30, **options: Any) -> str:  # noqa: ASYNC109
    handle = await run(programme, "round launch", **options)
    offer = await handle.response()
    assert offer.message is not None, offer.content
    assert "tandem:confirm" in str(offer.components), offer.content
    click = await programme.emu.click(programme.guild.id, programme.coordinator.id, offer, "tandem:confirm")
    await click.response()
    final = await click.wait_original(lambda m: "spaces ready" in m.content, timeout=timeout)
    return final.content


async def partners_by_space(bot: TandemBot) -> dict[int, set[int]]:
    async with bot.database.session() as session:
        rows = (
            await session.execute(
                select(Match.space_id, MatchMember.member_id)
                .join(MatchMember, MatchMember.match_id == Match.id)
                .where(MatchMember.status == "active", Match.space_id.is_not(None))  # type: ignore[union-attr]
            )
        ).all()
    spaces: dict[int, set[int]] = {}
    for space_id, member_id in rows:
        spaces.setdefault(space_id, set()).add(member_id)
    return spaces


def check_privacy(programme: Programme, spaces: dict[int, set[int]]) -> None:
    """Every member against every space: visible to exactly its partners."""
    emu, guild = programme.emu, programme.emu.guild(programme.guild.id)
    allowed_everywhere = {guild.owner_id, programme.admin.id, emu.bot_user_id}
    people = [uid for uid in guild.members if uid not in allowed_everywhere]
    assert programme.coordinator.id in people
    for space_id, partners in spaces.items():
        for user_id in people:
            assert emu.can_view(user_id, space_id) == (user_id in partners), (space_id, user_id)
        for partner in partners:
            bits = emu.permissions_for(partner, space_id)
            send = perms.SEND_MESSAGES_IN_THREADS if emu.channel(space_id).is_thread else perms.SEND_MESSAGES
            for needed in (send, perms.READ_MESSAGE_HISTORY, perms.ATTACH_FILES):
                assert bits & needed, (space_id, partner, perms.names(bits))


def intro_counts(emu: Emulator, spaces: dict[int, set[int]]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for space_id in spaces:
        for message in emu.messages(space_id):
            if message.author_id == emu.bot_user_id and any(
                "introduction" in (e.get("footer") or {}).get("text", "") for e in message.embeds
            ):
                counts[space_id] += 1
    return counts


async def test_thirty_signups_launch_fifteen_private_channels(programme: Programme) -> None:
    emu = programme.emu
    await create_and_preview(programme, 30)
    content = await confirm_launch(programme)
    assert "15 of 15 spaces ready" in content
    assert "private channels because they fit" in content
    spaces = await partners_by_space(programme.bot)
    assert len(spaces) == 15
    assert all(len(p) == 2 for p in spaces.values())
    assert sorted(len(p) for p in spaces.values()) == [2] * 15
    check_privacy(programme, spaces)
    assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1))
    channel = emu.channel(next(iter(spaces)))
    assert channel.type == 0
    assert channel.parent_id is not None
    assert channel.name.startswith("librarian-")
    intro = next(m for m in emu.messages(channel.id) if m.embeds)
    assert intro.mentions
    assert set(intro.mentions) == spaces[channel.id]
    fields = [f["name"] for f in intro.embeds[0]["fields"]]
    assert "Why you were matched" in fields
    assert any(f.startswith("First topic") for f in fields)
    # Bad input: a second launch is refused, and changes nothing.
    again = await programme.run(programme.coordinator, "round launch")
    assert "already launched" in (again.content or "")
    status = await programme.run(programme.coordinator, "round status")
    assert "15 ready" in (status.content or "")
    assert "intros posted: 15" in (status.content or "")


async def test_the_programmes_own_category_takes_the_spaces_when_they_fit(programme: Programme) -> None:
    emu = programme.emu
    category = emu.create_channel(programme.guild.id, "Partner spaces", type=4)
    await programme.bot.programmes.update(programme.guild.id, spaces_category_id=category.id)
    await create_and_preview(programme, 8)
    assert "4 of 4 spaces ready" in await confirm_launch(programme)
    spaces = await partners_by_space(programme.bot)
    assert {emu.channel(space).parent_id for space in spaces} == {category.id}
    check_privacy(programme, spaces)
    # Ending the round and deleting its spaces keeps the programme's own category.
    handle = await run(programme, "round end", delete_after="30d")
    click = await emu.click(
        programme.guild.id, programme.coordinator.id, await handle.response(), "tandem:confirm"
    )
    await click.response()
    await click.wait_original(lambda m: "has ended" in m.content, timeout=20)
    assert await programme.bot.rounds.delete_spaces(1) == 4
    assert all(emu.state.channels.get(space) is None for space in spaces)
    assert emu.state.channels.get(category.id) is not None


async def test_bad_input_gets_a_clear_message(programme: Programme) -> None:
    answer = await programme.run(programme.coordinator, "round end")
    assert "no launched round" in (answer.content or "")
    answer = await programme.run(programme.coordinator, "round launch")
    assert "No round is open" in (answer.content or "")
    await programme.run(
        programme.coordinator, "round create", name="Empty", starts="now", length="30m", cadence="45s"
    )
    answer = await programme.run(programme.coordinator, "round launch")
    assert "Nobody is enrolled" in (answer.content or "")
    answer = await programme.run(programme.coordinator, "round end")
    assert "not launched yet" in (answer.content or "")
    member = programme.add_member("outsider")
    refused = await programme.run(member, "round status")
    assert "Only the programme's coordinators" in (refused.content or "")


async def test_missing_permissions_are_named_and_nothing_changes(programme: Programme) -> None:
    await create_and_preview(programme, 4)
    programme.emu.set_bot_permissions(programme.guild.id, perms.DEFAULT_BOT & ~perms.MANAGE_CHANNELS)
    answer = await programme.run(programme.coordinator, "round launch")
    assert "missing **Manage Channels**" in (answer.content or "")
    assert "nothing was changed" in (answer.content or "")
    async with programme.bot.database.session() as session:
        assert (await session.scalar(select(Round.status))) == "draft"
    assert not programme.emu.channels(programme.guild.id, type=4)


async def test_injected_429s_and_server_errors_still_complete(programme: Programme) -> None:
    emu = programme.emu
    await create_and_preview(programme, 12)
    emu.fail_next("POST", "/guilds/{guild_id}/channels", count=2, status=429, retry_after=0.05)
    emu.fail_next("POST", "/guilds/{guild_id}/channels", count=1, status=500)
    emu.set_chaos(0.2, statuses=(429,), seed=3, routes=("POST /channels/*/messages",))
    content = await confirm_launch(programme, timeout=40)
    emu.set_chaos(0)
    assert "6 of 6 spaces ready" in content
    spaces = await partners_by_space(programme.bot)
    assert len(spaces) == 6
    assert len(emu.channels(programme.guild.id, type=0)) == 1 + 6  # #general and the spaces
    assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1))
    assert any(call.status in (429, 500) for call in emu.rest_log)


async def test_a_member_leaving_the_server_is_noticed_and_rematched(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    alerts = emu.create_channel(guild, "coordinators")
    await programme.bot.programmes.update(guild, alerts_channel_id=alerts.id)
    await create_and_preview(programme, 8)
    await confirm_launch(programme)
    spaces = await partners_by_space(programme.bot)
    first, _second = list(spaces.items())[:2]
    leaver, stayer = sorted(first[1])
    emu.remove_member(guild, leaver)
    await emu.wait_for_message(first[0], lambda m: "has left the programme" in m.content, timeout=10)
    alert = await emu.wait_for_message(alerts.id, lambda m: "/round rematch" in m.content, timeout=10)
    assert f"<@{stayer}>" in alert.content
    assert not alert.mentions
    status = await programme.run(programme.coordinator, "round status")
    assert "Needing attention (1)" in (status.content or "")

    offer = await (await run(programme, "round rematch", member=stayer)).response()
    assert offer.message is not None, offer.content
    assert "Join" in offer.content, offer.content
    select_id = offer.message.components[0]["components"][0]["custom_id"]
    picked = await emu.select(guild, programme.coordinator.id, offer, select_id, ["0"])
    await picked.response()
    done = await picked.wait_original(lambda m: m.content.startswith("Done."), timeout=10)
    assert "now shares" in done.content
    after = await partners_by_space(programme.bot)
    joined = next(space for space, people in after.items() if stayer in people)
    assert len(after[joined]) == 3
    assert emu.can_view(stayer, joined)
    assert not emu.can_view(stayer, first[0])
    welcome = emu.messages(joined)[-1]
    assert welcome.embeds
    assert "joins this space" in welcome.embeds[0]["title"]
    check_privacy(programme, {s: p for s, p in after.items() if s != first[0]})


async def test_erasing_ones_data_mid_round_tells_the_partner_and_leaves_no_trace(
    programme: Programme,
) -> None:
    emu, guild = programme.emu, programme.guild.id
    alerts = emu.create_channel(guild, "coordinators")
    await programme.bot.programmes.update(guild, alerts_channel_id=alerts.id)
    members = await create_and_preview(programme, 4)
    await confirm_launch(programme)
    spaces = await partners_by_space(programme.bot)
    space, partners = next(iter(spaces.items()))
    leaver = next(m for m in members if m.id == min(partners))
    asked = await programme.run(leaver, "privacy delete")
    click = await emu.click(guild, leaver.id, asked, "tandem:confirm")
    await click.wait_original(lambda m: "Your data is erased" in m.content, timeout=10)
    await emu.wait_for_message(space, lambda m: "has left the programme" in m.content, timeout=10)
    alert = await emu.wait_for_message(alerts.id, lambda m: "/round rematch" in m.content, timeout=10)
    assert "erased their data" in alert.content
    assert not emu.can_view(leaver.id, space)
    name = programme.emu.user(leaver.id).username
    assert await rows_holding(programme.bot.database, [leaver.id, name]) == []


async def test_a_space_deleted_by_hand_is_noticed(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    alerts = emu.create_channel(guild, "coordinators")
    await programme.bot.programmes.update(guild, alerts_channel_id=alerts.id)
    await create_and_preview(programme, 4)
    await confirm_launch(programme)
    space = next(iter(await partners_by_space(programme.bot)))
    emu.delete_channel(space)
    alert = await emu.wait_for_message(alerts.id, lambda m: "was deleted" in m.content, timeout=10)
    assert "/round rematch" in alert.content


async def test_end_makes_spaces_read_only_with_a_closing_message(programme: Programme) -> None:
    emu = programme.emu
    await create_and_preview(programme, 6)
    await confirm_launch(programme)
    handle = await run(programme, "round end", delete_after="30d")
    offer = await handle.response()
    assert "End **Spring 2026**" in (offer.content or "")
    click = await emu.click(programme.guild.id, programme.coordinator.id, offer, "tandem:confirm")
    await click.response()
    await click.wait_original(lambda m: "has ended" in m.content, timeout=20)
    spaces = await partners_by_space(programme.bot)
    for space, partners in spaces.items():
        assert any("has ended" in m.content for m in emu.messages(space))
        for partner in partners:
            bits = emu.permissions_for(partner, space)
            assert bits & perms.VIEW_CHANNEL
            assert bits & perms.READ_MESSAGE_HISTORY
            assert not bits & perms.SEND_MESSAGES
    assert programme.bot.scheduler.get_job("tandem:round:1:delete-spaces") is not None
    assert await programme.bot.rounds.delete_spaces(1) == 3
    assert all(emu.state.channels.get(space) is None for space in spaces)
    again = await programme.run(programme.coordinator, "round end")
    assert "no launched round" in (again.content or "")


# -- restarts and scale -------------------------------------------------------------------------


async def test_a_launch_stopped_halfway_resumes_with_each_space_once(
    emu: Emulator, e2e_backend: str, tmp_path: Path
) -> None:
    guild = emu.create_guild("International Librarians")
    role = emu.create_role(guild.id, "Coordinators")
    coordinator = emu.add_member(guild.id, "cora", roles=[role])
    members = [emu.add_member(guild.id, f"librarian{i}") for i in range(30)]
    url = await fresh_database_url(e2e_backend, tmp_path)
    emu.commands_opened_to_everyone.add((guild.id, "round"))
    emu.set_rate_limit("POST /guilds/{guild_id}/channels", 2, 0.25)  # slow enough to stop halfway
    async with standalone(emu, url, guild.id) as bot:
        await bot.programmes.update(guild.id, coordinator_role_id=role.id)
        await bot.rounds.create_round(guild.id, "Spring 2026", START)
        await bot.participants.import_applicants(guild.id, [applicant(m, i) for i, m in enumerate(members)])
        await bot.rounds.preview(guild.id)
        handle = await emu.slash(guild.id, coordinator.id, "round launch", {})
        offer = await handle.response()
        click = await emu.click(guild.id, coordinator.id, offer, "tandem:confirm")
        await click.response()
        await emu.wait_for(lambda: len(emu.channels(guild.id, type=0)) >= 1 + 7, timeout=20)
    # The bot process is gone, halfway through. Nothing was made twice so far.
    made = len(emu.channels(guild.id, type=0)) - 1
    assert 7 <= made < 15
    emu.set_rate_limit("POST /guilds/{guild_id}/channels", 50, 1.0)
    async with standalone(emu, url, guild.id) as bot:
        await emu.wait_for(lambda: len(emu.channels(guild.id, type=0)) == 1 + 15, timeout=20)
        spaces: dict[int, set[int]] = {}

        async def all_introduced() -> bool:
            spaces.update(await partners_by_space(bot))
            return (
                len(spaces) == 15
                and set(intro_counts(emu, spaces).values()) == {1}
                and len(intro_counts(emu, spaces)) == 15
            )

        deadline = time.monotonic() + 20
        while not await all_introduced():
            assert time.monotonic() < deadline, "the resumed launch did not finish"
            await asyncio.sleep(0.2)
        assert len(emu.channels(guild.id, type=4)) == 1  # one category, not two
        assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1))
        topics = Counter(emu.channel(s).topic for s in spaces)
        assert len(topics) == 15


@pytest.mark.e2e
async def test_nine_hundred_participants_go_to_threads_and_complete(programme: Programme) -> None:
    emu = programme.emu
    await create_and_preview(programme, 900)
    started = time.monotonic()
    content = await confirm_launch(programme, timeout=120)
    elapsed = time.monotonic() - started
    print(f"\n900-person launch: {elapsed:.1f} s against the emulator")
    assert "450 of 450 spaces ready" in content
    assert "private threads because 450 channels would crowd the server" in content
    spaces = await partners_by_space(programme.bot)
    assert len(spaces) == 450
    assert all(emu.channel(s).type == 12 for s in spaces)
    assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1))
    sample = dict(list(spaces.items())[::45])
    check_privacy(programme, sample)
    assert elapsed < 60
