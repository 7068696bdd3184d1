"""Faults, end to end against the emulator: the bot process stopped at seeded random points during a
launch and during a topic fan-out, then a new process on the same database; and a chaotic Discord
(429s, 500s, a dropped gateway) during a launch, a topic release and a nudge sweep.

The seeded trials are sized for CI (`TANDEM_FAULT_TRIALS` trials of `TANDEM_FAULT_SPACES` spaces,
default 12 x 16, about 25 s on SQLite). The issue's full run, 20 trials at 200 spaces, by hand:

    TANDEM_FAULT_TRIALS=20 TANDEM_FAULT_SPACES=200 pytest tests/e2e/test_faults.py -q -k trials

`TANDEM_FAULT_SEED` moves the whole series (trial i uses seed SEED + i); a failing trial names its
seed and its stopping points, so it can be replayed alone with `TANDEM_FAULT_TRIALS=1`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import TandemBot
from bot.clock import ManualClock
from bot.models import Match, MatchMember
from tests.e2e.conftest import START
from tests.e2e.test_rounds import applicant, intro_counts, partners_by_space
from tests.e2e.test_topics import KEYS, topic_keys
from tests.emulator import Emulator, Guild
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

TRIALS = int(os.environ.get("TANDEM_FAULT_TRIALS", "12"))
SPACES = int(os.environ.get("TANDEM_FAULT_SPACES", "16"))
SEED = int(os.environ.get("TANDEM_FAULT_SEED", "0"))
CADENCE = timedelta(seconds=30)
LENGTH = timedelta(minutes=10)  # eight releases of the library at a 30 s cadence fit
AFTER_LEASE = timedelta(minutes=11)  # a later process takes over claims left by the dead one
WAIT = 30 + SPACES / 4  # seconds; generous for 200 spaces on a slow runner


async def stop_after(emu: Emulator, work: Awaitable[Any], calls: int) -> bool:
    """Run `work` until the bot has made `calls` more REST calls, then kill it where it is.
    True when the work finished before the stopping point came."""
    target = len(emu.rest_log) + calls
    task = asyncio.ensure_future(work)
    while not task.done() and len(emu.rest_log) < target:  # noqa: ASYNC110 (polls the emulator log)
        await asyncio.sleep(0)
    if task.done():
        task.result()
        return True
    task.cancel()  # the process dies mid-flight: maybe between a Discord call and its record
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def wait_until(check: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.1)


async def round_with_people(
    emu: Emulator, bot: TandemBot, guild: Guild, pairs: int, length: timedelta = LENGTH
) -> int:
    members = [emu.add_member(guild.id, f"librarian{i}") for i in range(2 * pairs)]
    info = await bot.rounds.create_round(guild.id, "Trial", START, length=length, cadence=CADENCE)
    await bot.participants.import_applicants(guild.id, [applicant(m, i) for i, m in enumerate(members)])
    await bot.rounds.preview(guild.id, seed=1)
    return info.id


def spaces_in_guild(emu: Emulator, guild_id: int) -> list[int]:
    """Every space-like channel the bot made: text channels but #general, and threads."""
    general = emu.channel_named(guild_id, "general").id
    channels = [c.id for c in emu.channels(guild_id, type=0) if c.id != general]
    return channels + [t.id for t in emu.threads(guild_id)]


async def one_trial(seed: int, backend: str, folder: Path) -> str:
    rng = random.Random(seed)
    emu = Emulator()
    await emu.start()
    try:
        guild = emu.create_guild("International Librarians")
        url = await fresh_database_url(backend, folder)
        # Process A: the launch is under way when the process is stopped.
        launch_stop = rng.randint(1, 3 * SPACES)
        async with standalone(emu, url, guild.id, ManualClock(START)) as bot:
            round_id = await round_with_people(emu, bot, guild, SPACES)
            check = await bot.rounds.check_launch(guild.id)
            await bot.rounds.start_launch(round_id, check.plan.kind)
            launch_done = await stop_after(emu, bot.rounds.run_launch(round_id), launch_stop)
        # Process B, same moment: carries on with the launch at start-up, then a fan-out of three
        # due releases is stopped in its turn.
        fan_out_stop = rng.randint(1, 3 * SPACES)
        clock = ManualClock(START)
        async with standalone(emu, url, guild.id, clock) as bot:
            await bot.rounds.run_launch(round_id)  # waits for the resumed launch (one lock), then idles
            spaces = await partners_by_space(bot)
            assert len(spaces) == SPACES
            clock.advance(3 * CADENCE)
            fan_out_done = await stop_after(emu, bot.topic_posts.post_due_topics(round_id), fan_out_stop)
        # Process C, after the claims' lease: the start-up rebuild posts what is left, once.
        later = ManualClock(START + 3 * CADENCE + AFTER_LEASE)
        async with standalone(emu, url, guild.id, later) as bot:
            assert bot.topic_rebuild is not None
            await asyncio.wait_for(asyncio.shield(bot.topic_rebuild), timeout=WAIT)
            spaces = await partners_by_space(bot)
            async with bot.database.session() as session:
                statuses = Counter(
                    (await session.execute(select(Match.space_status, Match.intro_status))).all()
                )
        label = f"seed {seed}: launch stopped after {launch_stop} calls, fan-out after {fan_out_stop}"
        assert statuses == Counter({("created", "posted"): SPACES}), label
        assert len(spaces) == SPACES, label
        assert sorted(spaces_in_guild(emu, guild.id)) == sorted(spaces), f"{label}: a space made twice"
        assert len({frozenset(p) for p in spaces.values()}) == SPACES
        assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1)), f"{label}: intros"
        posted = {space: topic_keys(emu, space) for space in spaces}
        assert posted == {key: list(KEYS) for key in spaces}, f"{label}: topics"
        assert not emu.server_errors, emu.server_errors
        assert not emu.unknown_routes, emu.unknown_routes
        return (
            label
            + (" (launch had finished)" if launch_done else "")
            + (" (fan-out had finished)" if fan_out_done else "")
        )
    finally:
        await emu.stop()


@pytest.mark.parametrize("trial", range(TRIALS))
async def test_seeded_trials_stop_the_process_mid_launch_and_mid_fan_out(
    trial: int, e2e_backend: str, tmp_path: Path
) -> None:
    if e2e_backend == "sqlite":
        # Open problem (issue 9): here a process is "stopped" by cancelling its task, in the same
        # Python process. On SQLite a task cancelled in the middle of a transaction can leave its
        # connection (and the file's write lock) held until the garbage collector closes it, so
        # the next "process" finds the database locked, which a really stopped process never
        # causes. Until stopping is simulated with real subprocesses, these trials run on
        # PostgreSQL (TEST_DATABASE_URL), where CI runs them.
        pytest.skip("in-process stops leave SQLite locked; the trials run on PostgreSQL")
    print(await one_trial(SEED + trial, e2e_backend, tmp_path))


# -- a chaotic Discord --------------------------------------------------------------------------

CHAOS_ROUTES = (
    "POST /guilds/*/channels",
    "POST /channels/*/messages",
    "POST /channels/*/threads",
    "PUT /channels/*/thread-members/*",
    "POST /users/@me/channels",
)


async def test_ten_percent_429s_and_500s_and_a_dropped_gateway_still_complete_everything(
    emu: Emulator, e2e_backend: str, tmp_path: Path
) -> None:
    guild = emu.create_guild("International Librarians")
    url = await fresh_database_url(e2e_backend, tmp_path)
    clock = ManualClock(START)
    async with standalone(emu, url, guild.id, clock) as bot:
        await bot.engagement.update_settings(
            guild.id, quiet_after=timedelta(hours=1), grace=timedelta(0), sweep_every=timedelta(minutes=10)
        )
        round_id = await round_with_people(emu, bot, guild, 8, length=timedelta(days=30))
        check = await bot.rounds.check_launch(guild.id)
        await bot.rounds.start_launch(round_id, check.plan.kind)
        # One status in four is a 500: discord.py backs off 1 s, 3 s... on those, 429s are quick.
        emu.set_chaos(0.1, statuses=(429, 429, 429, 500), seed=11, routes=CHAOS_ROUTES)
        before = len(emu.rest_log)
        launch = asyncio.ensure_future(bot.rounds.run_launch(round_id))
        await emu.wait_for(lambda: len(emu.rest_log) >= before + 6 or launch.done(), timeout=20)
        await emu.drop_gateway()
        report = await asyncio.wait_for(launch, timeout=60)
        assert not report.failures, report.failures
        spaces = await partners_by_space(bot)
        assert len(spaces) == 8
        assert sorted(spaces_in_guild(emu, guild.id)) == sorted(spaces)
        assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1))
        assert {s: topic_keys(emu, s) for s in spaces} == {key: [KEYS[0]] for key in spaces}

        # A topic release with the gateway cut in the middle.
        clock.advance(CADENCE)
        fan_out = asyncio.ensure_future(bot.topic_posts.post_due_topics(round_id))
        await emu.drop_gateway()
        await asyncio.wait_for(fan_out, timeout=60)
        assert {s: topic_keys(emu, s) for s in spaces} == {key: list(KEYS[:2]) for key in spaces}

        # In half the spaces one partner writes: the other gets one DM; the silent spaces one post.
        await emu.wait_until_connected()
        ordered = sorted((space, sorted(people)) for space, people in spaces.items())
        writers = {space: people[0] for space, people in ordered[::2]}
        clock.advance(timedelta(minutes=59))
        for space, member in writers.items():
            await emu.send_message(member, space, "hello!")
        await wait_until(lambda: written(bot, list(writers.values())), 10, "the messages were not counted")
        clock.advance(timedelta(minutes=2))
        sweep = asyncio.ensure_future(bot.engagement.sweep(guild.id))
        await emu.drop_gateway()
        await asyncio.wait_for(sweep, timeout=60)
        await asyncio.wait_for(bot.engagement.sweep(guild.id), timeout=60)  # idempotent, even now
        emu.set_chaos(0)
    assert any(status == 429 for _, _, status in emu.faults.injected)
    for space, people in ordered:
        in_space = [m for m in emu.messages(space) if NUDGE in m.content or STARTER in m.content]
        if space in writers:
            quiet = people[1]
            assert [NUDGE in m.content for m in emu.dms(quiet)].count(True) == 1, space
            assert not [m for m in emu.dms(people[0]) if NUDGE in m.content]
            assert not in_space
        else:
            assert len(in_space) == 1, space
            assert all(not [m for m in emu.dms(p) if NUDGE in m.content] for p in people)


NUDGE = "little while"  # in every nudge to one partner
STARTER = "conversation starter"  # in the one message to a silent space


async def written(bot: TandemBot, member_ids: list[int]) -> bool:
    async with bot.database.session() as session:
        counts = (
            await session.execute(
                select(MatchMember.member_id, MatchMember.message_count).where(
                    MatchMember.member_id.in_(member_ids)  # type: ignore[attr-defined]
                )
            )
        ).all()
    return len(counts) == len(member_ids) and all(n >= 1 for _, n in counts)
