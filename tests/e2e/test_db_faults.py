"""The database briefly locked or unreachable, end to end: the real bot against the emulator, with
real faults (tests/support/outages.py), on each backend under test.

- SQLite: a second, raw connection on the same file holds `BEGIN EXCLUSIVE`; the bot's busy timeout
  is shortened to half a second so a lock that outlasts it fails fast.
- PostgreSQL: the bot reaches the server only through a loopback proxy that the test cuts
  (connections reset, new ones refused) and restores; the bot's URL carries a password, which
  must never reach a log line.

What a user would see is asserted (the private answer, each topic and space once) and so is the
database (every table compared before and after). Jobs and retries are fired by hand, as the other
end-to-end tests do: nothing sleeps through the backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.interactions import DATABASE_UNAVAILABLE
from bot.jobs import retry_job_id
from bot.models import Match, Participant, TopicPost
from cogs.rounds import launch_job_id
from tests.e2e.conftest import START, Programme
from tests.e2e.test_faults import spaces_in_guild
from tests.e2e.test_participants_admin import csv_bytes, person
from tests.e2e.test_rounds import applicant, intro_counts, partners_by_space
from tests.e2e.test_signup import STEP_ONE, STEP_TWO
from tests.e2e.test_topics import KEYS, topic_keys
from tests.emulator import Attachment, Emulator, InteractionHandle
from tests.emulator import permissions as perms
from tests.support.bots import make_bot
from tests.support.databases import fresh_database_url
from tests.support.outages import Outage, SqliteLock, cut_when
from tests.support.tcpproxy import TcpProxy

BUSY_TIMEOUT = 0.5  # seconds the bot's SQLite connections wait for a lock (5 s in production)
PASSWORD = "pw-never-logged-7c1e"  # trust auth ignores it; it only has to stay out of the logs
CADENCE = timedelta(seconds=30)
PAIRS = 8


@pytest.fixture
async def outage_programme(
    emu: Emulator, e2e_backend: str, tmp_path: Path
) -> AsyncIterator[tuple[Programme, Outage]]:
    """The `programme` fixture's guild and bot, with a database that the test can take away."""
    guild = emu.create_guild("International Librarians")
    coordinator_role = emu.create_role(guild.id, "Coordinators")
    coordinator = emu.add_member(guild.id, "cora", roles=[coordinator_role])
    admin = emu.add_member(
        guild.id, "adele", roles=[emu.create_role(guild.id, "Admins", perms.ADMINISTRATOR)]
    )
    for command in ("round", "topic", "participants", "setup"):
        emu.commands_opened_to_everyone.add((guild.id, command))
    url = await fresh_database_url(e2e_backend, tmp_path)
    proxy = None
    bot_url = url
    if e2e_backend == "postgresql":
        server = make_url(url)
        proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
        await proxy.start()
        bot_url = proxy.url_for(url, password=PASSWORD)
    clock = ManualClock(START)
    bot = make_bot(emu, bot_url, guild.id, clock, busy_timeout=BUSY_TIMEOUT)
    async with emu.running(bot):
        await emu.wait_for_commands(guild.id)
        await bot.programmes.update(guild.id, coordinator_role_id=coordinator_role.id)
        outage = Outage(url, lock=SqliteLock(url)) if proxy is None else Outage(url, proxy=proxy)
        try:
            yield Programme(emu, bot, clock, guild, coordinator_role, coordinator, admin), outage
        finally:
            await outage.end()  # whatever happened, the bot closes on a working database
            if outage.lock is not None:
                outage.lock.close()
    if proxy is not None:
        await proxy.stop()


def check_logs(caplog: pytest.LogCaptureFixture, *, expected: str) -> None:
    """One WARNING line per database failure, never a traceback or an ERROR of ours, never the password."""
    ours = [r for r in caplog.records if r.name.startswith(("bot", "cogs"))]
    warnings = [r for r in ours if r.levelno == logging.WARNING and "unavailable" in r.getMessage()]
    assert warnings, "no WARNING line for the database failure"
    assert any(expected in r.getMessage() for r in warnings), [r.getMessage() for r in warnings]
    assert all(r.exc_info is None for r in warnings)
    assert not [r.getMessage() for r in ours if r.levelno >= logging.ERROR]
    assert PASSWORD not in caplog.text


async def private_answer(handle: InteractionHandle) -> str:
    """What the member sees: the first answer, or (deferred) the message that replaced it."""
    response = await handle.response(timeout=10)
    assert response.ephemeral, response.content
    if response.deferred:
        message = await handle.wait_original(timeout=10)
        return message.content
    return response.content or ""


# -- commands, buttons and modals ---------------------------------------------------------------


async def test_commands_buttons_and_forms_during_an_outage_answer_privately_and_change_nothing(
    outage_programme: tuple[Programme, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    programme, outage = outage_programme
    emu, guild = programme.emu, programme.guild.id
    answer = await programme.run(programme.coordinator, "round create", name="Spring 2026", starts="now")
    assert "open for signups" in (answer.content or "")
    ana, bo = programme.add_member("ana"), programme.add_member("bo")
    await programme.bot.participants.import_applicants(guild, [applicant(ana, 0), applicant(bo, 1)])
    # Ready before the outage: a /leave asking for its confirmation, and the form's second step open.
    leave = await emu.slash(guild, ana.id, "leave")
    asked = await leave.response()
    assert "Leave **Spring 2026**?" in (asked.content or "")
    opened = await emu.slash(guild, bo.id, "signup")
    await opened.response()
    step_one = await emu.submit_modal(guild, bo.id, opened, STEP_ONE | {"timezone": "America/Santiago"})
    proceed = await emu.click(guild, bo.id, await step_one.response(), "tandem:signup:continue")
    assert (await proceed.response()).is_modal
    before = await outage.rows()

    await outage.begin()
    # A participant's command, a coordinator's (whose coordinator check reads the database too), a
    # deferred one, a modal, and a confirm button: each one private answer, the same words.
    pause = await emu.slash(guild, ana.id, "pause", {"until": "2w"})
    assert await private_answer(pause) == DATABASE_UNAVAILABLE
    setup = await emu.slash(guild, programme.coordinator.id, "setup", {"timezone": "Europe/Madrid"})
    assert await private_answer(setup) == DATABASE_UNAVAILABLE
    upload = Attachment("people.csv", csv_bytes([person(programme.add_member("zed"), "Zed")]))
    imported = await emu.slash(guild, programme.admin.id, "participants import", {"file": upload})
    assert await private_answer(imported) == DATABASE_UNAVAILABLE
    submitted = await emu.submit_modal(guild, bo.id, proceed, STEP_TWO)
    assert await private_answer(submitted) == DATABASE_UNAVAILABLE
    click = await emu.click(guild, ana.id, asked, "tandem:confirm")
    assert (await click.response()).content == "Leaving **Spring 2026**…"  # the button, answered at once
    (followup,) = await leave.wait_followups(1, timeout=10)
    assert followup.ephemeral
    assert followup.content == DATABASE_UNAVAILABLE
    assert await outage.rows() == before  # nothing changed, in any table

    expected = "database is locked" if outage.backend == "sqlite" else "Error"
    check_logs(caplog, expected=expected)
    await outage.end()
    # Back: the same command simply works.
    assert "You're paused" in await private_answer(await emu.slash(guild, ana.id, "pause", {"until": "2w"}))
    async with programme.bot.database.session() as session:
        paused = await session.scalar(select(Participant.paused).where(Participant.member_id == ana.id))
    assert paused is True


async def test_the_connection_dropping_mid_import_answers_the_deferred_command_and_imports_nothing(
    outage_programme: tuple[Programme, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    programme, outage = outage_programme
    if outage.proxy is None:
        pytest.skip(
            "a connection cut mid-transaction is PostgreSQL's; SQLite's lock fails at the first write"
        )
    emu, guild = programme.emu, programme.guild.id
    rows = [person(programme.add_member(f"person{i}"), f"Person {i}", i) for i in range(5)]
    before = await outage.rows()
    # The import's transaction has upserted some profiles when the connection drops under it.
    with cut_when(programme.bot.database.engine, outage.proxy, "INSERT INTO participant") as cut:
        upload = Attachment("people.csv", csv_bytes(rows))
        handle = await emu.slash(guild, programme.admin.id, "participants import", {"file": upload})
        assert (await handle.response()).deferred  # it had deferred before the database went away
        answer = await handle.wait_original(timeout=10)
    assert cut, "the import never reached its INSERT"
    assert answer.content == DATABASE_UNAVAILABLE
    assert answer.ephemeral
    assert await outage.rows() == before
    check_logs(caplog, expected="Error")
    await outage.end()
    again = await emu.slash(guild, programme.admin.id, "participants import", {"file": upload})
    assert "5 new" in (await again.wait_original(timeout=10)).content


async def test_a_lock_shorter_than_the_busy_timeout_only_slows_a_command_down(
    outage_programme: tuple[Programme, Outage],
) -> None:
    programme, outage = outage_programme
    if outage.backend != "sqlite":
        pytest.skip("SQLite's busy timeout; PostgreSQL has no file lock (see the reconnect test)")
    ana = programme.add_member("ana")
    await programme.bot.participants.import_applicants(programme.guild.id, [applicant(ana, 0)])
    await outage.begin()
    asyncio.get_running_loop().call_later(BUSY_TIMEOUT / 5, outage.lock.release)  # type: ignore[union-attr]
    answer = await programme.run(ana, "pause", until="2w")
    assert "You're paused" in (answer.content or "")
    assert outage.lock is not None
    assert not outage.lock.held


async def test_a_connection_dropped_between_commands_is_replaced_unnoticed(
    outage_programme: tuple[Programme, Outage],
) -> None:
    programme, outage = outage_programme
    if outage.backend != "postgresql":
        pytest.skip("PostgreSQL's pooled connections; SQLite has none to drop (see the lock tests)")
    ana = programme.add_member("ana")
    await programme.bot.participants.import_applicants(programme.guild.id, [applicant(ana, 0)])
    await outage.begin()
    await outage.end()  # every pooled connection is dead now, but the server is back
    answer = await programme.run(ana, "pause", until="2w")
    assert "You're paused" in (answer.content or "")


# -- a topic release ----------------------------------------------------------------------------


async def launched_round(programme: Programme) -> tuple[int, dict[int, set[int]]]:
    bot, guild = programme.bot, programme.guild.id
    members = [programme.add_member(f"librarian{i}") for i in range(2 * PAIRS)]
    info = await bot.rounds.create_round(guild, "Trial", START, length=timedelta(minutes=10), cadence=CADENCE)
    await bot.participants.import_applicants(guild, [applicant(m, i) for i, m in enumerate(members)])
    await bot.rounds.preview(guild, seed=1)
    check = await bot.rounds.check_launch(guild)
    await bot.rounds.start_launch(info.id, check.plan.kind)
    report = await bot.rounds.run_launch(info.id)
    assert not report.failures
    spaces = await partners_by_space(bot)
    assert len(spaces) == PAIRS
    return info.id, spaces


async def topic_statuses(programme: Programme, key: str) -> Counter[str]:
    async with programme.bot.database.session() as session:
        rows = (await session.scalars(select(TopicPost.status).where(TopicPost.topic_key == key))).all()
    return Counter(rows)


@pytest.mark.parametrize(
    "strike",
    [None, "INSERT INTO topic_post", "UPDATE topic_post"],
    ids=["before the release", "before a claim mid fan-out", "after a post before its record"],
)
async def test_a_topic_release_the_outage_stops_is_retried_and_posts_each_topic_once(
    outage_programme: tuple[Programme, Outage],
    strike: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    programme, outage = outage_programme
    emu, bot = programme.emu, programme.bot
    round_id, spaces = await launched_round(programme)
    assert {s: topic_keys(emu, s) for s in spaces} == {s: [KEYS[0]] for s in spaces}
    programme.clock.advance(CADENCE)
    job = bot.scheduler.get_job(f"tandem:topic:{round_id}:1")
    assert job is not None
    if strike is None:
        await outage.begin()
        await job.func(*job.args)  # what the scheduler does at the release time
        assert {s: topic_keys(emu, s) for s in spaces} == {s: [KEYS[0]] for s in spaces}
    else:
        # Two spaces get the topic, then the database goes away under the fan-out: one worker, so
        # that the point is exact (and, on SQLite, no other write holds the file then).
        bot.topic_posts.workers = 1
        with outage.strike_before(bot.database.engine, strike, skip=2):
            await job.func(*job.args)
        assert outage.struck
        got = {s: topic_keys(emu, s) for s in spaces}
        assert all(keys in ([KEYS[0]], list(KEYS[:2])) for keys in got.values()), got
        # Struck after a post, the third space has its topic although the database never heard of it.
        assert sum(keys == list(KEYS[:2]) for keys in got.values()) == (
            3 if strike.startswith("UPDATE") else 2
        )
    retry = bot.scheduler.get_job(retry_job_id(job.id))
    assert retry is not None, "the release was not scheduled to be tried again"
    check_logs(caplog, expected="topic release 1")

    await outage.end()
    await retry.func(*retry.args)  # what the scheduler does 30 s later
    assert {s: topic_keys(emu, s) for s in spaces} == {s: list(KEYS[:2]) for s in spaces}
    assert await topic_statuses(programme, KEYS[1]) == Counter({"posted": PAIRS})
    assert bot.scheduler.get_job(retry_job_id(job.id)) is None


# -- a launch -----------------------------------------------------------------------------------


async def test_a_launch_the_outage_interrupts_carries_on_and_makes_each_space_and_intro_once(
    outage_programme: tuple[Programme, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    programme, outage = outage_programme
    emu, bot, guild = programme.emu, programme.bot, programme.guild.id
    alerts = emu.create_channel(guild, "coordinators")
    await bot.programmes.update(guild, alerts_channel_id=alerts.id)
    members = [programme.add_member(f"librarian{i}") for i in range(2 * PAIRS)]
    info = await bot.rounds.create_round(guild, "Spring 2026", START, length=timedelta(days=30))
    await bot.participants.import_applicants(guild, [applicant(m, i) for i, m in enumerate(members)])
    await bot.rounds.preview(guild, seed=1)

    handle = await emu.slash(guild, programme.coordinator.id, "round launch")
    offer = await handle.response()
    # A few spaces in (four updates of a match each), the database goes away under the launch
    # (on SQLite with one worker, so that the lock is taken exactly there).
    if outage.lock is not None:
        bot.rounds.workers = 1
    with outage.strike_before(bot.database.engine, "UPDATE match", skip=10):
        click = await emu.click(guild, programme.coordinator.id, offer, "tandem:confirm")
        await click.response()
        stopped = await click.wait_original(lambda m: "the launch stopped" in m.content, timeout=20)
    assert outage.struck
    assert "Tandem can't reach its database just now" in stopped.content
    assert "carries on by itself in 30s" in stopped.content
    assert "/round launch carries on too" in stopped.content
    retry = bot.scheduler.get_job(retry_job_id(launch_job_id(info.id)))
    assert retry is not None, "the launch was not scheduled to carry on"
    check_logs(caplog, expected="launch of round")
    at = [column.name for column in Match.__table__.columns].index("space_status")  # type: ignore[attr-defined]
    created_so_far = sum(row[at] == "created" for row in (await outage.rows())["match"])
    assert created_so_far < PAIRS  # it really stopped part-way

    await outage.end()
    await retry.func(*retry.args)  # what the scheduler does 30 s later
    done = await click.wait_original(lambda m: "spaces ready" in m.content, timeout=20)
    assert f"{PAIRS} of {PAIRS} spaces ready" in done.content
    note = await emu.wait_for_message(
        alerts.id, lambda m: "carried on once the database was back" in m.content
    )
    assert f"{PAIRS} of {PAIRS} spaces ready" in note.content
    spaces = await partners_by_space(bot)
    assert len(spaces) == PAIRS
    made = [channel for channel in spaces_in_guild(emu, guild) if channel != alerts.id]
    assert sorted(made) == sorted(spaces), "a space was made twice"
    assert intro_counts(emu, spaces) == Counter(dict.fromkeys(spaces, 1))
    assert {s: topic_keys(emu, s) for s in spaces} == {s: [KEYS[0]] for s in spaces}
    async with bot.database.session() as session:
        final = Counter((await session.execute(select(Match.space_status, Match.intro_status))).all())
    assert final == Counter({("created", "posted"): PAIRS})
    assert bot.scheduler.get_job(retry_job_id(launch_job_id(info.id))) is None


# -- closing a round, a member leaving the server -----------------------------------------------


async def test_closing_spaces_the_outage_interrupts_carries_on_and_closes_each_space_once(
    outage_programme: tuple[Programme, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    programme, outage = outage_programme
    emu, bot, guild = programme.emu, programme.bot, programme.guild.id
    alerts = emu.create_channel(guild, "coordinators")
    await bot.programmes.update(guild, alerts_channel_id=alerts.id)
    round_id, spaces = await launched_round(programme)
    offer = await (await emu.slash(guild, programme.coordinator.id, "round end")).response()
    # /round end's own update, then two per space closed: the database goes away after a few.
    with outage.strike_before(bot.database.engine, "UPDATE match", skip=6):
        click = await emu.click(guild, programme.coordinator.id, offer, "tandem:confirm")
        await click.response()
        stopped = await click.wait_original(lambda m: "Closing the spaces stopped" in m.content, timeout=20)
    assert outage.struck
    assert "Tandem carries on by itself in 30s" in stopped.content
    closed = [s for s in spaces if any("has ended" in m.content for m in emu.messages(s))]
    assert 0 < len(closed) < PAIRS  # it really stopped part-way
    retry = bot.scheduler.get_job(retry_job_id(f"tandem:round:{round_id}:close"))
    assert retry is not None, "closing was not scheduled to carry on"
    check_logs(caplog, expected="Closing the spaces of round")

    await outage.end()
    await retry.func(*retry.args)  # what the scheduler does 30 s later
    await emu.wait_for_message(alerts.id, lambda m: "The round has ended" in m.content)
    for space, partners in spaces.items():
        notes = [m for m in emu.messages(space) if "has ended" in m.content]
        assert len(notes) == 1, space  # one closing message, even where it stopped in between
        assert not any(emu.permissions_for(p, space) & perms.SEND_MESSAGES for p in partners)
    async with bot.database.session() as session:
        statuses = Counter((await session.scalars(select(Match.space_status))).all())
    assert statuses == Counter({"closed": PAIRS})


async def test_a_member_leaving_the_server_during_an_outage_is_withdrawn_once_it_is_back(
    outage_programme: tuple[Programme, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    programme, outage = outage_programme
    emu, bot, guild = programme.emu, programme.bot, programme.guild.id
    alerts = emu.create_channel(guild, "coordinators")
    await bot.programmes.update(guild, alerts_channel_id=alerts.id)
    _round_id, spaces = await launched_round(programme)
    space, partners = next(iter(spaces.items()))
    leaver, stayer = sorted(partners)
    await outage.begin()
    emu.remove_member(guild, leaver)  # Discord says so once, while the database is away
    retry_id = retry_job_id(f"tandem:member-removed:{guild}:{leaver}")
    retry = await emu.wait_for(lambda: bot.scheduler.get_job(retry_id), timeout=10)
    check_logs(caplog, expected="who left the server")
    assert not [m for m in emu.messages(space) if "has left the programme" in m.content]

    await outage.end()
    await retry.func(*retry.args)  # what the scheduler does 30 s later
    note = await emu.wait_for_message(space, lambda m: "has left the programme" in m.content)
    assert note.mentions == [stayer]
    alert = await emu.wait_for_message(alerts.id, lambda m: "left the server" in m.content)
    assert "/round rematch" in alert.content
    assert await bot.participants.current_place(guild, leaver) is None
    assert await partners_by_space(bot) == {**spaces, space: {stayer}}
