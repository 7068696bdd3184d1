"""Two bot processes on one database, end to end against the emulator.

- As Discord shards (SHARD_ID / SHARD_COUNT, PostgreSQL): each process gets only its own guilds,
  resumes only their launches and schedules only their topics, check-ins and sweeps.
- Two processes on the same shard at once (a rolling restart, or one started twice by mistake): a
  launch, a topic release and a nudge sweep run in both at the same moment, and still every space,
  intro, topic and nudge exists exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import TandemBot
from bot.clock import ManualClock
from bot.sharding import Shard
from tests.e2e.conftest import START
from tests.e2e.test_faults import CADENCE, assert_nudged_once, round_with_people, spaces_in_guild, written
from tests.e2e.test_faults import wait_until as wait_for_check
from tests.e2e.test_rounds import intro_counts, partners_by_space
from tests.e2e.test_topics import KEYS, topic_keys
from tests.emulator import Emulator, Guild
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

PAIRS = 6
WAIT = 30.0


def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("several processes share a PostgreSQL database (SHARD_COUNT above 1 refuses SQLite)")


async def guilds_on_two_shards(emu: Emulator) -> tuple[Guild, Guild]:
    """Two guilds that Discord would give to shards 0 and 1 of 2 (ids follow the clock)."""
    first = emu.create_guild("Librarians East")
    for _ in range(200):
        await asyncio.sleep(0.002)  # the next snowflake's time part moves on
        second = emu.create_guild("Librarians West")
        if Shard(0, 2).holds(first.id) != Shard(0, 2).holds(second.id):
            return (first, second) if Shard(0, 2).holds(first.id) else (second, first)
    raise AssertionError("no guild id landed on the second shard")


def job_rounds(bot: TandemBot, prefix: str) -> set[int]:
    """The rounds (or guilds) this process has scheduled jobs for, from the job ids."""
    found = set()
    for job in bot.scheduler.get_jobs():
        if job.id.startswith(prefix):
            found.add(int(job.id.removeprefix(prefix).split(":")[0]))
    return found


async def unfinished(bot: TandemBot) -> bool:
    return bool(await bot.rounds.unfinished_launches())


def assert_round_complete(emu: Emulator, guild: Guild, spaces: dict[int, set[int]], topics: int) -> None:
    assert len(spaces) == PAIRS
    assert sorted(spaces_in_guild(emu, guild.id)) == sorted(spaces), "a space made twice"
    assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1))
    assert {s: topic_keys(emu, s) for s in spaces} == {s: list(KEYS[:topics]) for s in spaces}


async def test_each_shard_looks_after_its_own_guilds(emu: Emulator, e2e_backend: str, tmp_path: Path) -> None:
    postgresql_only(e2e_backend)
    east, west = await guilds_on_two_shards(emu)
    url = await fresh_database_url(e2e_backend, tmp_path)
    rounds: dict[int, int] = {}
    # One process prepares both programmes and starts both launches, then stops before any space.
    async with standalone(emu, url, east.id) as bot:
        for guild in (east, west):
            rounds[guild.id] = await round_with_people(emu, bot, guild, PAIRS, length=timedelta(days=60))
            check = await bot.rounds.check_launch(guild.id)
            await bot.rounds.start_launch(rounds[guild.id], check.plan.kind)
    assert not spaces_in_guild(emu, east.id)
    assert not spaces_in_guild(emu, west.id)

    # Two shards start: each carries on with its own guild's launch, and only that one.
    async with (
        standalone(emu, url, east.id, shard=Shard(0, 2)) as zero,
        standalone(emu, url, west.id, shard=Shard(1, 2)) as one,
    ):
        for bot, mine, other in ((zero, east, west), (one, west, east)):
            assert mine.id in [g.id for g in bot.guilds]
            assert other.id not in [g.id for g in bot.guilds]  # nor its events, nor its commands
        await wait_for_check(lambda: _launched_both(emu, zero, one), WAIT, "the launches did not finish")
        for bot, guild in ((zero, east), (one, west)):
            assert job_rounds(bot, "tandem:topic:") == {rounds[guild.id]}
            assert job_rounds(bot, "tandem:feedback:") == {rounds[guild.id]}
            swept = job_rounds(bot, "tandem:nudge-sweep:")
            assert guild.id in swept
            assert all(bot.settings.shard.holds(other) for other in swept)  # spare guilds of its shard
        spaces = await partners_by_space(zero)
    by_guild = {
        guild.id: {s: p for s, p in spaces.items() if emu.channel(s).guild_id == guild.id}
        for guild in (east, west)
    }
    for guild in (east, west):
        assert_round_complete(emu, guild, by_guild[guild.id], topics=1)

    # Two releases later both shards restart: each start-up posts what fell due in its guilds, once.
    async with (
        standalone(emu, url, east.id, ManualClock(START + 2 * CADENCE), shard=Shard(0, 2)) as zero,
        standalone(emu, url, west.id, ManualClock(START + 2 * CADENCE), shard=Shard(1, 2)) as one,
    ):
        for bot in (zero, one):
            assert bot.topic_rebuild is not None
            await asyncio.wait_for(asyncio.shield(bot.topic_rebuild), WAIT)
    for guild in (east, west):
        assert_round_complete(emu, guild, by_guild[guild.id], topics=3)


async def _launched_both(emu: Emulator, zero: TandemBot, one: TandemBot) -> bool:
    """Both launches done, down to the first topic that follows each intro."""
    spaces = await partners_by_space(zero)
    if len(spaces) < 2 * PAIRS or await unfinished(zero) or await unfinished(one):
        return False
    return all(topic_keys(emu, space) == [KEYS[0]] for space in spaces)


async def test_two_processes_on_one_shard_do_everything_once(
    emu: Emulator, e2e_backend: str, tmp_path: Path
) -> None:
    postgresql_only(e2e_backend)
    emu.concurrent_sessions = True  # both processes identified on shard 0, both get every event
    guild = emu.create_guild("International Librarians")
    url = await fresh_database_url(e2e_backend, tmp_path)
    clock_a, clock_b = ManualClock(START), ManualClock(START)
    async with standalone(emu, url, guild.id, clock_a) as a:
        await a.engagement.update_settings(
            guild.id, quiet_after=timedelta(hours=1), grace=timedelta(0), sweep_every=timedelta(minutes=10)
        )
        round_id = await round_with_people(emu, a, guild, PAIRS, length=timedelta(days=30))
        check = await a.rounds.check_launch(guild.id)
        await a.rounds.start_launch(round_id, check.plan.kind)
        async with standalone(emu, url, guild.id, clock_b) as b:
            # The same launch in both processes at once: one waits for the other, then finds it done.
            reports = await asyncio.gather(a.rounds.run_launch(round_id), b.rounds.run_launch(round_id))
            assert all(not report.failures for report in reports)
            spaces = await partners_by_space(a)
            assert_round_complete(emu, guild, spaces, topics=1)

            # The next release fires in both processes at the same moment.
            for clock in (clock_a, clock_b):
                clock.advance(CADENCE)
            await asyncio.gather(
                a.topic_posts.post_due_topics(round_id), b.topic_posts.post_due_topics(round_id)
            )
            assert_round_complete(emu, guild, spaces, topics=2)

            # Half the spaces hear from one partner; then both processes sweep at the same moment.
            ordered = sorted((space, sorted(people)) for space, people in spaces.items())
            writers = {space: people[0] for space, people in ordered[::2]}
            for clock in (clock_a, clock_b):
                clock.advance(timedelta(minutes=59))
            for space, member in writers.items():
                await emu.send_message(member, space, "hello!")
            await wait_for_check(
                lambda: written(a, list(writers.values())), 10, "the messages were not counted"
            )
            for clock in (clock_a, clock_b):
                clock.advance(timedelta(minutes=2))
            await asyncio.gather(a.engagement.sweep(guild.id), b.engagement.sweep(guild.id))
            await asyncio.gather(a.engagement.sweep(guild.id), b.engagement.sweep(guild.id))
    assert_nudged_once(emu, ordered, writers)
