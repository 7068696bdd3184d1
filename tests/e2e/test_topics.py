"""Discussion topics end to end: a launched round with a short cadence and a ManualClock, against the
emulator. Time is moved, never slept through; jobs are triggered by hand."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import DEFAULT_PROMPTS_DIR
from bot.matching.model import Applicant
from bot.topics import load_topic_library
from tests.e2e.conftest import START, Programme
from tests.e2e.test_rounds import applicant, confirm_launch, partners_by_space
from tests.emulator import Emulator, Member
from tests.emulator import permissions as perms
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

KEYS = load_topic_library(DEFAULT_PROMPTS_DIR / "topics").keys
CADENCE = timedelta(seconds=30)


@pytest.fixture(autouse=True)
def coordinators_may_use_topic_and_round(request: pytest.FixtureRequest) -> None:
    if "programme" in request.fixturenames:
        programme: Programme = request.getfixturevalue("programme")
        programme.emu.commands_opened_to_everyone.update(
            {(programme.guild.id, "round"), (programme.guild.id, "topic")}
        )


def topic_keys(emu: Emulator, space_id: int) -> list[str]:
    """The topics the bot posted in a space, in order, read from the markers in the footers."""
    keys = []
    for message in emu.messages(space_id):
        for embed in message.embeds:
            footer = (embed.get("footer") or {}).get("text", "")
            if message.author_id == emu.bot_user_id and "topic [" in footer:
                keys.append(footer.split("[", 1)[1].rstrip("]"))
    return keys


def spanish(member: Member, index: int) -> Applicant:
    country, zone = [("CL", "America/Santiago"), ("ES", "Europe/Madrid")][index]
    return Applicant(
        member_id=member.id,
        name=f"Hispanohablante {index}",
        country=country,
        timezone=zone,
        languages=frozenset({"es"}),
        sector="public",
        career_stage="mid",
        interests=frozenset({"open access"}),
        goals="Conversar",
    )


async def launched_round(
    programme: Programme, english: int = 4, with_spanish: bool = True
) -> dict[int, set[int]]:
    answer = await programme.run(
        programme.coordinator, "round create", name="Trial", starts="now", length="10m", cadence="30s"
    )
    assert "open for signups" in (answer.content or ""), answer.content
    people = [applicant(programme.add_member(f"librarian{i}"), i) for i in range(english)]
    speakers = [programme.add_member(f"hispano{i}") for i in range(2)] if with_spanish else []
    people += [spanish(member, i) for i, member in enumerate(speakers)]
    await programme.bot.participants.import_applicants(programme.guild.id, people)
    await programme.bot.rounds.preview(programme.guild.id)
    content = await confirm_launch(programme)
    assert "spaces ready" in content
    return await partners_by_space(programme.bot), {m.id for m in speakers}


async def test_every_space_gets_each_topic_once_in_order_and_spanish_in_spanish(programme: Programme) -> None:
    emu, bot, clock = programme.emu, programme.bot, programme.clock
    spaces, spanish_ids = await launched_round(programme)
    assert len(spaces) == 3
    # The launch hands over to the schedule: topic 1 is in every space, after the intro.
    for space in spaces:
        assert topic_keys(emu, space) == [KEYS[0]]
        messages = [m for m in emu.messages(space) if m.embeds]
        assert "introduction" in messages[0].embeds[0]["footer"]["text"]
    spanish_space = next(space for space, people in spaces.items() if people == spanish_ids)
    topic = next(m for m in emu.messages(spanish_space) if "topic [" in str(m.embeds))
    assert topic.embeds[0]["title"] == "Para conocernos"
    assert set(topic.mentions) == spanish_ids  # the partners are notified, nobody else
    english_space = next(space for space in spaces if space != spanish_space)
    assert next(m for m in emu.messages(english_space) if "topic [" in str(m.embeds)).embeds[0]["title"] == (
        "Getting to know each other"
    )

    # The jobs exist for every future release; firing one posts release 2.
    assert bot.scheduler.get_job("tandem:topic:1:1") is not None
    assert bot.scheduler.get_job("tandem:topic:1:7") is not None
    clock.advance(CADENCE)
    job = bot.scheduler.get_job("tandem:topic:1:1")
    await job.func(*job.args)
    assert {s: topic_keys(emu, s) for s in spaces} == {key: list(KEYS[:2]) for key in spaces}

    # Two releases at once (the job for release 3 came late): both, in order.
    clock.advance(2 * CADENCE)
    await bot.topic_posts.post_due_topics(1)
    await bot.topic_posts.post_due_topics(1)
    assert {s: topic_keys(emu, s) for s in spaces} == {key: list(KEYS[:4]) for key in spaces}

    # /topic post after the scheduled post: nothing twice.
    handle = await emu.slash(programme.guild.id, programme.coordinator.id, "topic post", {"number": 2})
    assert (await handle.response()).deferred
    done = await handle.wait_original(lambda m: "topic post(s) made" in m.content, timeout=10)
    assert "nothing was posted twice" in done.content
    assert {s: topic_keys(emu, s) for s in spaces} == {key: list(KEYS[:4]) for key in spaces}

    listing = await programme.run(programme.coordinator, "topic list")
    assert listing.ephemeral
    assert "in 3/3 spaces" in (listing.content or "")
    assert "**8.** What now?" in (listing.content or "")
    preview = await programme.run(programme.coordinator, "topic preview", number=8, language="es")
    assert preview.embeds[0]["title"] == "¿Y ahora qué?"

    # To the end of the round: eight topics, each once, in order.
    clock.advance(10 * CADENCE)
    await bot.topic_posts.post_due_topics(1)
    assert {s: topic_keys(emu, s) for s in spaces} == {key: list(KEYS) for key in spaces}


async def test_a_coordinator_adds_a_topic_with_the_form_and_it_never_pings(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    await programme.run(
        programme.coordinator, "round create", name="Trial", starts="now", length="10m", cadence="30s"
    )
    handle = await emu.slash(guild, programme.coordinator.id, "topic add", {})
    assert (await handle.response()).is_modal
    submitted = await emu.submit_modal(
        guild,
        programme.coordinator.id,
        handle,
        {
            "tandem:topic:title": "Volunteers",
            "tandem:topic:body": "1. Who helps you, @everyone?",
            "tandem:topic:position": "2",
        },
    )
    answer = await submitted.response()
    assert "as topic 2" in (answer.content or ""), answer.content
    listing = await programme.run(programme.coordinator, "topic list")
    assert "**2.** Volunteers (the round's own)" in (listing.content or "")
    members = [programme.add_member(f"librarian{i}") for i in range(2)]
    await programme.bot.participants.import_applicants(
        guild, [applicant(m, i) for i, m in enumerate(members)]
    )
    await programme.bot.rounds.preview(guild)
    await confirm_launch(programme)
    programme.clock.advance(CADENCE)
    await programme.bot.topic_posts.post_due_topics(1)
    space = next(iter(await partners_by_space(programme.bot)))
    assert topic_keys(emu, space) == [KEYS[0], "own:1"]
    own = emu.messages(space)[-1]
    assert not own.mention_everyone
    assert set(own.mentions) == {m.id for m in members}
    bad = await programme.run(programme.coordinator, "topic move", number=1, to=3)
    assert "released already" in (bad.content or "")


async def test_a_space_that_refuses_or_was_deleted_is_recorded_and_reported(programme: Programme) -> None:
    emu, bot, guild = programme.emu, programme.bot, programme.guild.id
    alerts = emu.create_channel(guild, "coordinators")
    await bot.programmes.update(guild, alerts_channel_id=alerts.id)
    spaces = list((await launched_round(programme, english=6, with_spanish=False))[0])
    refusing, deleted = spaces[0], spaces[1]
    can_read = perms.VIEW_CHANNEL | perms.READ_MESSAGE_HISTORY
    emu.set_overwrite(refusing, emu.bot_user_id, allow=can_read, deny=perms.SEND_MESSAGES)
    emu.delete_channel(deleted)
    await emu.wait_for_message(alerts.id, lambda m: "was deleted" in m.content, timeout=10)
    programme.clock.advance(CADENCE)
    await bot.topic_posts.post_due_topics(1)
    alert = await emu.wait_for_message(alerts.id, lambda m: "could not be posted" in m.content, timeout=10)
    assert "missing permissions" in alert.content
    assert topic_keys(emu, spaces[2]) == list(KEYS[:2])
    listing = await programme.run(programme.coordinator, "topic list")
    assert "in 1/2 spaces, 1 failed" in (listing.content or "")
    assert "1 match has no space to post into" in (listing.content or "")
    # Permission fixed: /topic post retries the failed space, and only that one.
    emu.set_overwrite(refusing, emu.bot_user_id, allow=can_read | perms.SEND_MESSAGES | perms.EMBED_LINKS)
    handle = await emu.slash(guild, programme.coordinator.id, "topic post", {"number": 2})
    await handle.response()
    await handle.wait_original(lambda m: "1 topic post(s) made" in m.content, timeout=10)
    assert topic_keys(emu, refusing) == list(KEYS[:2])
    assert topic_keys(emu, spaces[2]) == list(KEYS[:2])


async def test_discussion_threads_open_once_per_topic(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    forum = emu.create_channel(guild, "topic-discussions")
    answer = await programme.run(
        programme.coordinator, "topic settings", discussion_threads=True, discussion_channel=forum.id
    )
    assert "discussion thread in" in (answer.content or ""), answer.content
    await launched_round(programme, english=2, with_spanish=False)
    programme.clock.advance(CADENCE)
    await programme.bot.topic_posts.post_due_topics(1)
    await programme.bot.topic_posts.post_topic_now(guild, 2)
    threads = emu.threads(guild, parent_id=forum.id)
    assert sorted(t.name for t in threads) == ["A day in your working life", "Getting to know each other"]


# -- a restart in the middle of a fan-out -------------------------------------------------------


async def test_a_restart_in_the_middle_of_a_fan_out_still_posts_each_topic_once(
    emu: Emulator, e2e_backend: str, tmp_path: Path
) -> None:
    guild = emu.create_guild("International Librarians")
    members = [emu.add_member(guild.id, f"librarian{i}") for i in range(20)]
    url = await fresh_database_url(e2e_backend, tmp_path)
    clock = ManualClock(START)
    async with standalone(emu, url, guild.id, clock) as bot:
        info = await bot.rounds.create_round(
            guild.id, "Trial", START, length=timedelta(minutes=10), cadence=CADENCE
        )
        await bot.participants.import_applicants(guild.id, [applicant(m, i) for i, m in enumerate(members)])
        await bot.rounds.preview(guild.id)
        check = await bot.rounds.check_launch(guild.id)
        await bot.rounds.start_launch(info.id, check.plan.kind)
        await bot.rounds.run_launch(info.id)
        spaces = list(await partners_by_space(bot))
        assert len(spaces) == 10
        assert all(topic_keys(emu, s) == [KEYS[0]] for s in spaces)
        # Three releases fall due at once; each space's posts are slowed, so the fan-out takes a while.
        clock.advance(3 * CADENCE)
        emu.set_rate_limit("POST /channels/{channel_id}/messages", 1, 0.3)
        fan_out = asyncio.create_task(bot.topic_posts.post_due_topics(info.id))
        await emu.wait_for(lambda: sum(len(topic_keys(emu, s)) for s in spaces) >= 10 + 8, timeout=20)
        fan_out.cancel()  # the process dies mid-flight: maybe between a send and its record
        with contextlib.suppress(asyncio.CancelledError):
            await fan_out
    made = sum(len(topic_keys(emu, s)) for s in spaces)
    assert 18 <= made < 40
    emu.set_rate_limit("POST /channels/{channel_id}/messages", 50, 1.0)

    # A new process, later (after the claims' lease): the start-up rebuild finishes the job.
    later = ManualClock(START + 3 * CADENCE + timedelta(minutes=11))
    async with standalone(emu, url, guild.id, later) as bot:
        assert bot.topic_rebuild is not None
        await asyncio.wait_for(asyncio.shield(bot.topic_rebuild), timeout=30)
        assert {s: topic_keys(emu, s) for s in spaces} == {key: list(KEYS) for key in spaces}
        assert bot.scheduler.get_jobs() == [] or all(
            not job.id.startswith("tandem:topic:") for job in bot.scheduler.get_jobs()
        )
