"""Faults, end to end against the emulator: the bot's process killed (SIGKILL) at seeded random
points during a launch and during a topic fan-out, then a new process on the same database; and a
chaotic Discord (429s, 500s, a dropped gateway) during a launch, a topic release and a nudge sweep.

Each seeded trial sets a round up with a bot in the test's process, then runs the bot as separate
OS processes (tests/support/bot_process.py) against the emulator, which stays in the test's
process and logs every REST call. A process is killed (SIGKILL) at its n-th REST call, after the
emulator has done the call and before the answer leaves, so the bot dies between a change on
Discord and its record (and its other workers wherever they are); a process whose work is done
before its stopping point comes is killed idle. Every process is a real one, so its database
connections and file locks die with it, on SQLite as on PostgreSQL:

- process A, at the round's start: its start-up resumes the launch (cogs/rounds.py on_ready) and
  posts the first topic (bot/app.py, the topic schedule's rebuild); killed after a seeded number
  of calls;
- process B, three cadences later: finishes the launch and fans out the three releases now due
  (and what is left of the first); killed after a seeded number of calls;
- process C, after the claims' lease: must finish everything.

Then every space exists once, every intro and every topic is posted once, nothing is lost and no
bot logged an error, on SQLite and on PostgreSQL (TEST_DATABASE_URL). Each trial prints where its
processes were stopped and what they left half done (a space made but not recorded, a topic sent
but not recorded...). CI runs `TANDEM_FAULT_TRIALS` trials of `TANDEM_FAULT_SPACES` spaces
(default 10 x 16); the issue's full run, 20 trials at 200 spaces, by hand:

    TANDEM_FAULT_TRIALS=20 TANDEM_FAULT_SPACES=200 pytest tests/e2e/test_faults.py -q -k trials -s

`TANDEM_FAULT_SEED` moves the whole series (trial i uses seed SEED + i); a failing trial names its
seed and its stopping points, so it can be replayed alone with `TANDEM_FAULT_SEED=<seed>
TANDEM_FAULT_TRIALS=1`. The bots' logs are in the trial's tmp_path (bot-1.err, ...). The bots are
forked by one server that has imported the bot (a fresh interpreter spends seconds on imports);
`TANDEM_FAULT_PROCESSES=exec` starts each as a fresh `python -m tests.support.bot_process`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import TandemBot
from bot.clock import ManualClock
from bot.db import Database
from bot.models import Match, MatchMember, TopicPost
from tests.e2e.conftest import START
from tests.e2e.test_rounds import applicant, intro_counts, partners_by_space
from tests.e2e.test_topics import KEYS, topic_keys
from tests.emulator import Emulator, Guild
from tests.emulator.rest import RestCall
from tests.support.bot_process import BotProcess, BotProcesses, ForkServer
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

TRIALS = int(os.environ.get("TANDEM_FAULT_TRIALS", "10"))
SPACES = int(os.environ.get("TANDEM_FAULT_SPACES", "16"))
SEED = int(os.environ.get("TANDEM_FAULT_SEED", "0"))
CADENCE = timedelta(seconds=30)
LENGTH = timedelta(minutes=10)  # eight releases of the library at a 30 s cadence fit
AFTER_LEASE = timedelta(minutes=11)  # a later process takes over claims left by the dead one
WAIT = 60 + SPACES / 2  # seconds per process: a bound for a hang, generous for a slow, busy runner
FRESH_INTERPRETERS = os.environ.get("TANDEM_FAULT_PROCESSES") == "exec"
STARTUP_CALLS = 3  # before a bot works: GET /users/@me and /oauth2/applications/@me, PUT commands


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


# -- seeded trials, in real processes -----------------------------------------------------------


class KillAtCall(list[RestCall]):
    """The emulator's REST log, which kills a bot process when it logs the `at`-th call: the call
    is done on Discord's side and its answer not yet sent, so the bot never learns of it."""

    def __init__(self, calls: list[RestCall], at: int, bot: BotProcess) -> None:
        super().__init__(calls)
        self.at = at
        self.bot = bot

    def append(self, call: RestCall) -> None:
        super().append(call)
        if len(self) == self.at:
            self.bot.kill_now()


@dataclass(frozen=True)
class Stop:
    """Where a bot process was stopped, and what it left half done (Discord against the database)."""

    calls: int  # the REST calls the process made
    finished: bool  # its work was done before its stopping point came
    spaces_done: int  # matches with their space and intro recorded
    unrecorded_spaces: int  # spaces made on Discord that no match records: killed in between
    unrecorded_intros: int  # intros on Discord whose match does not record them as posted
    unrecorded_topics: int  # topic messages on Discord whose claim has no message id
    unsent_claims: int  # topic claims taken whose message was never sent

    def describe(self) -> str:
        if self.finished:
            return f"{self.calls} calls, its work done"
        parts = [f"at call {self.calls}", f"{self.spaces_done}/{SPACES} spaces done"]
        for count, what in (
            (self.unrecorded_spaces, "space made, not recorded"),
            (self.unrecorded_intros, "intro sent, not recorded"),
            (self.unrecorded_topics, "topic sent, not recorded"),
            (self.unsent_claims, "topic claimed, not sent"),
        ):
            if count:
                parts.append(f"{count} {what}")
        return ", ".join(parts)


async def gateway_idle(emu: Emulator) -> bool:
    return not emu.gateway.connections


def due_releases(now: datetime) -> int:
    """How many of the library's topics are due at `now` (release k at START + k x CADENCE)."""
    return min(len(KEYS), (now - START) // CADENCE + 1)


async def work_done(db: Database, releases: int) -> bool:
    """Every space and intro recorded, and every due topic posted in every space."""
    async with db.session() as session:
        unfinished = await session.scalar(
            select(func.count())
            .select_from(Match)
            .where((Match.space_status != "created") | (Match.intro_status != "posted"))
        )
        posted = await session.scalar(
            select(func.count()).select_from(TopicPost).where(TopicPost.status == "posted")
        )
    return unfinished == 0 and posted == releases * SPACES


async def spaces_recorded(db: Database) -> dict[int, set[int]]:
    """The partners of each space the database records."""
    async with db.session() as session:
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


async def what_was_left(emu: Emulator, db: Database, guild_id: int, calls: int, finished: bool) -> Stop:
    async with db.session() as session:
        matches = (await session.execute(select(Match.space_status, Match.intro_status))).all()
        claims = Counter((await session.scalars(select(TopicPost.status))).all())
    recorded = await spaces_recorded(db)
    on_discord = spaces_in_guild(emu, guild_id)
    intros = sum(intro_counts(emu, {space: set() for space in on_discord}).values())
    topics = sum(len(topic_keys(emu, space)) for space in on_discord)
    unrecorded_topics = topics - claims["posted"]
    return Stop(
        calls=calls,
        finished=finished,
        spaces_done=sum(1 for statuses in matches if tuple(statuses) == ("created", "posted")),
        unrecorded_spaces=len(set(on_discord) - set(recorded)),
        unrecorded_intros=intros - sum(1 for _, intro in matches if intro == "posted"),
        unrecorded_topics=unrecorded_topics,
        unsent_claims=claims["posting"] - unrecorded_topics,
    )


async def run_and_stop(
    emu: Emulator, processes: BotProcesses, db: Database, now: datetime, calls: int | None
) -> Stop:
    """Start a bot process at `now`; kill it at its `calls`-th REST call or, with `calls` None or
    once the database shows its work done, idle."""
    first = len(emu.rest_log)
    bot = await processes.start(now)
    if calls is not None:
        emu.rest_log = KillAtCall(emu.rest_log, first + calls, bot)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    finished = False
    try:
        while not bot.killed:
            assert not bot.exited, bot.describe("exited before it was stopped")
            if await work_done(db, due_releases(now)):
                finished = True
                break
            assert loop.time() < deadline, bot.describe(f"its work was not done within {WAIT:.0f} s")
            await asyncio.sleep(0.05)
        await bot.kill()
    finally:
        emu.rest_log = list(emu.rest_log)
    # The exit was noted a moment late, or the process ended as it was being killed.
    assert bot.returncode == -signal.SIGKILL, bot.describe("exited before it was stopped")
    # The emulator notices the dead gateway connection, so the next process starts clean (and
    # IDENTIFYs anew: its session replaces the dead one's).
    await wait_until(lambda: gateway_idle(emu), 10, "the emulator kept a dead gateway connection")
    return await what_was_left(emu, db, processes.guild_id, len(emu.rest_log) - first, finished)


async def one_trial(seed: int, backend: str, folder: Path, server: ForkServer | None) -> str:
    rng = random.Random(seed)
    label = f"seed {seed}"
    emu = Emulator()
    await emu.start()
    db: Database | None = None
    try:
        guild = emu.create_guild("International Librarians")
        url = await fresh_database_url(backend, folder)
        # The round, set up by a bot in this process: launched, not one space made yet.
        async with standalone(emu, url, guild.id, ManualClock(START)) as bot:
            round_id = await round_with_people(emu, bot, guild, SPACES)
            check = await bot.rounds.check_launch(guild.id)
            await bot.rounds.start_launch(round_id, check.plan.kind)
        db = Database(url)
        await db.open()
        async with BotProcesses(emu, url, guild.id, folder, server) as processes:
            # A: its start-up resumes the launch (a channel, an intro and the first topic a space).
            launch_stop = rng.randint(1, STARTUP_CALLS + 3 * SPACES)
            label += f": launch stopped at call {launch_stop}"
            launch = await run_and_stop(emu, processes, db, START, launch_stop)
            label = f"seed {seed}: launch stopped {launch.describe()}"
            # B, three cadences later: the rest of the launch and a fan-out of three more releases.
            later = START + 3 * CADENCE
            left = SPACES - launch.spaces_done
            fan_out_stop = rng.randint(1, STARTUP_CALLS + 2 * left + due_releases(later) * SPACES)
            label += f"; fan-out stopped at call {fan_out_stop}"
            fan_out = await run_and_stop(emu, processes, db, later, fan_out_stop)
            label = f"seed {seed}: launch stopped {launch.describe()}; fan-out stopped {fan_out.describe()}"
            # C, after the claims' lease: the start-up finishes everything, each thing once.
            await run_and_stop(emu, processes, db, later + AFTER_LEASE, None)
        errors = [f"{p.name}: {line}" for p in processes.started for line in p.errors()]
        assert not errors, "the bot logged errors\n" + "\n".join(errors)
        spaces = await spaces_recorded(db)
        async with db.session() as session:
            statuses = Counter((await session.execute(select(Match.space_status, Match.intro_status))).all())
            claims = Counter((await session.scalars(select(TopicPost.status))).all())
        assert statuses == Counter({("created", "posted"): SPACES})
        assert claims == Counter({"posted": len(KEYS) * SPACES})
        assert len(spaces) == SPACES
        assert sorted(spaces_in_guild(emu, guild.id)) == sorted(spaces), "a space made twice"
        assert len({frozenset(p) for p in spaces.values()}) == SPACES
        assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1)), "intros"
        posted = {space: topic_keys(emu, space) for space in spaces}
        assert posted == {key: list(KEYS) for key in spaces}, "topics"
        assert not emu.server_errors, emu.server_errors
        assert not emu.unknown_routes, emu.unknown_routes
        return label
    except AssertionError as error:
        raise AssertionError(f"{label}, {SPACES} spaces (bot logs in {folder}): {error}") from error
    finally:
        if db is not None:
            await db.close()
        await emu.stop()


@pytest.fixture(scope="module")
async def fork_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ForkServer | None]:
    """One server that has imported the bot forks every bot process of the trials: a fresh
    interpreter costs seconds of imports, more than a small trial's work."""
    if FRESH_INTERPRETERS:
        yield None
        return
    server = await ForkServer.start(tmp_path_factory.mktemp("fork-server") / "fork-server.err")
    try:
        yield server
    finally:
        await server.close()


@pytest.mark.parametrize("trial", range(TRIALS))
async def test_seeded_trials_kill_the_process_mid_launch_and_mid_fan_out(
    trial: int, e2e_backend: str, tmp_path: Path, fork_server: ForkServer | None
) -> None:
    print(await one_trial(SEED + trial, e2e_backend, tmp_path, fork_server))


async def test_a_bot_process_that_ends_on_its_own_fails_the_trial_and_none_outlives_the_test(
    emu: Emulator, tmp_path: Path, fork_server: ForkServer | None
) -> None:
    guild = emu.create_guild("International Librarians")
    db = Database(await fresh_database_url("sqlite", tmp_path))
    await db.open()
    await db.upgrade()
    (tmp_path / "a-file").write_text("")
    broken = f"sqlite:///{tmp_path / 'a-file' / 'tandem.db'}"  # its folder cannot be made
    try:
        async with BotProcesses(emu, broken, guild.id, tmp_path, fork_server) as processes:
            with pytest.raises(AssertionError, match="exited before it was stopped") as failure:
                await run_and_stop(emu, processes, db, START, None)
        assert "Traceback" in str(failure.value), "the failure shows the bot's stderr"
        assert processes.started[0].returncode == 1

        with pytest.raises(RuntimeError, match="the test failed"):
            async with BotProcesses(emu, db.url, guild.id, tmp_path, fork_server) as processes:
                running = await processes.start(START)
                raise RuntimeError("the test failed")
    finally:
        await db.close()
    assert running.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(running.pid, 0)  # reaped: not even a zombie is left


# -- a chaotic Discord --------------------------------------------------------------------------


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
        # One REST call in ten, on every route, fails; one failure in four is a 500 (discord.py backs
        # off 1 s, 3 s... on those; 429s are quick).
        emu.set_chaos(0.1, statuses=(429, 429, 429, 500), seed=11)
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
    assert any(status == 500 for _, _, status in emu.faults.injected)
    assert_nudged_once(emu, ordered, writers)


def assert_nudged_once(emu: Emulator, ordered: list[tuple[int, list[int]]], writers: dict[int, int]) -> None:
    """In a space where one partner wrote, the other got one DM; a silent space got one message."""
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
