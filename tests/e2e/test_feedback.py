"""Check-ins, the end-of-round survey, keep-in-touch choices and /report, end to end against the
emulator: a launched round, a ManualClock moved to half-time and the scheduled job fired by hand."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.charts import PNG_SIGNATURE
from bot.checkins import halftime, survey_time
from bot.clock import ManualClock
from bot.models import Enrolment, Match, MatchMember, Participant, Round, SurveyAnswer
from tests.e2e.conftest import START, Programme
from tests.e2e.test_rounds import applicant, confirm_launch, create_and_preview, partners_by_space, run
from tests.emulator import Emulator, Member, Message
from tests.emulator import permissions as perms
from tests.support.bots import standalone
from tests.support.databases import fresh_database_url

CHECKIN = "Half-way through"
SURVEY = "nearly over"


@pytest.fixture(autouse=True)
def coordinators_may_use_the_commands(request: pytest.FixtureRequest) -> None:
    if "programme" in request.fixturenames:
        programme: Programme = request.getfixturevalue("programme")
        for command in ("round", "report"):
            programme.emu.commands_opened_to_everyone.add((programme.guild.id, command))


async def launch(programme: Programme, people: int) -> list[tuple[int, list[int]]]:
    """An alerts channel and a launched round; (space id, partner ids) per match, by space."""
    alerts = programme.emu.create_channel(programme.guild.id, "coordinators")
    await programme.bot.programmes.update(programme.guild.id, alerts_channel_id=alerts.id)
    await create_and_preview(programme, people)
    await confirm_launch(programme)
    spaces = await partners_by_space(programme.bot)
    return [(space, sorted(members)) for space, members in sorted(spaces.items())]


async def round_row(programme: Programme) -> Round:
    async with programme.bot.database.session() as session:
        row = await session.scalar(select(Round).order_by(Round.id.desc()))  # type: ignore[union-attr]
    assert row is not None
    return row


async def fire(programme: Programme, kind: str) -> None:
    """Move the clock to the job's time and run the scheduled job, as the scheduler would."""
    row = await round_row(programme)
    at = (
        halftime(row.starts_at, row.ends_at) if kind == "checkin" else survey_time(row.starts_at, row.ends_at)
    )
    job = programme.bot.scheduler.get_job(f"tandem:feedback:{row.id}:{kind}")
    assert job is not None, f"no {kind} job was scheduled"
    programme.clock.set(at)
    await job.func(*job.args)


def posted(emu: Emulator, space: int, text: str) -> list[Message]:
    return [m for m in emu.messages(space) if text in m.content]


async def match_of(programme: Programme, space: int) -> int:
    async with programme.bot.database.session() as session:
        match_id = await session.scalar(select(Match.id).where(Match.space_id == space))
    assert match_id is not None
    return match_id


# -- the half-time check-in ------------------------------------------------------------------------


async def test_each_space_gets_one_check_in_and_need_help_alerts_the_coordinators(
    programme: Programme,
) -> None:
    emu, guild = programme.emu, programme.guild.id
    spaces = await launch(programme, 4)
    await fire(programme, "checkin")
    await programme.bot.feedback.send_due((await round_row(programme)).id or 0)  # again: nothing new
    for space, partners in spaces:
        (message,) = posted(emu, space, CHECKIN)
        assert all(f"<@{p}>" in message.content for p in partners)
        assert set(message.mentions) == set(partners)
    (space, (first, second)), _ = spaces
    outsider = programme.admin.id  # an administrator sees every space, but is no partner
    match_id = await match_of(programme, space)
    (message,) = posted(emu, space, CHECKIN)
    ids = {c["custom_id"] for row in message.components for c in row["components"]}
    assert ids == {f"tandem:checkin:{match_id}:{choice}" for choice in ("well", "better", "help")}

    refused = await (await emu.click(guild, outsider, message, f"tandem:checkin:{match_id}:help")).response()
    assert refused.ephemeral
    assert "partners of this space only" in (refused.content or "")
    alerts = emu.channel_named(guild, "coordinators").id
    assert not emu.messages(alerts)

    well = await (await emu.click(guild, first, message, f"tandem:checkin:{match_id}:well")).response()
    assert well.ephemeral
    assert "going well" in (well.content or "")
    click = await emu.click(guild, second, message, f"tandem:checkin:{match_id}:help")
    assert (await click.response()).deferred
    answer = await click.wait_original(lambda m: "coordinators have been told" in m.content)
    assert answer.ephemeral
    alert = await emu.wait_for_message(alerts, lambda m: "Need help" in m.content, timeout=5)
    assert f"match {match_id}" in alert.content
    assert "/round rematch" in alert.content
    buttons = {c["custom_id"] for row in alert.components for c in row["components"]}
    assert f"tandem:alert:{match_id}:rematch" in buttons
    offer = await (
        await emu.click(guild, programme.coordinator.id, alert, f"tandem:alert:{match_id}:rematch")
    ).response()
    assert "Options for" in (offer.content or "")
    changed = await (await emu.click(guild, first, message, f"tandem:checkin:{match_id}:better")).response()
    assert "Changed from “Going well”" in (changed.content or "")


async def test_check_in_buttons_work_after_a_restart_and_a_missed_half_time_is_sent_once(
    emu: Emulator, e2e_backend: str, tmp_path: Path
) -> None:
    guild = emu.create_guild("International Librarians")
    members: list[Member] = [emu.add_member(guild.id, f"librarian{i}") for i in range(2)]
    url = await fresh_database_url(e2e_backend, tmp_path)
    clock = ManualClock(START)
    async with standalone(emu, url, guild.id, clock) as bot:
        info = await bot.rounds.create_round(guild.id, "Spring 2026", START, length=timedelta(days=28))
        await bot.participants.import_applicants(guild.id, [applicant(m, i) for i, m in enumerate(members)])
        await bot.rounds.preview(guild.id)
        check = await bot.rounds.check_launch(guild.id)
        await bot.rounds.start_launch(check.round.id, check.plan.kind)
        await bot.rounds.run_launch(check.round.id)
        assert bot.scheduler.get_job(f"tandem:feedback:{info.id}:checkin") is not None
        ((space, partners),) = (await partners_by_space(bot)).items()
    assert not posted(emu, space, CHECKIN)
    clock.advance(timedelta(days=15))  # half-time passes while the bot is down
    async with standalone(emu, url, guild.id, clock) as bot:
        message = await emu.wait_for_message(space, lambda m: CHECKIN in m.content, timeout=5)
        assert bot.scheduler.get_job(f"tandem:feedback:{info.id}:checkin") is None
    async with standalone(emu, url, guild.id, clock) as bot:
        await bot.feedback.rebuild()  # what start-up does: nothing is due twice
        partner = sorted(partners)[0]
        match_id = int(message.components[0]["components"][0]["custom_id"].split(":")[2])
        pressed = await (
            await emu.click(guild.id, partner, message, f"tandem:checkin:{match_id}:well")
        ).response()
        assert "going well" in (pressed.content or "")
        stranger = emu.add_member(
            guild.id, "stranger", roles=[emu.create_role(guild.id, "Admins", perms.ADMINISTRATOR)]
        )
        refused = await (
            await emu.click(guild.id, stranger.id, message, f"tandem:checkin:{match_id}:well")
        ).response()
        assert "partners of this space only" in (refused.content or "")
    assert len(posted(emu, space, CHECKIN)) == 1


# -- the end-of-round survey and keep-in-touch -------------------------------------------------------


def modal_values(rating: str, gained: str = "A colleague abroad", comments: str = "") -> dict[str, str]:
    return {"rating": rating, "gained": gained, "comments": comments}


async def survey_of(programme: Programme, member_id: int) -> SurveyAnswer | None:
    async with programme.bot.database.session() as session:
        return await session.scalar(
            select(SurveyAnswer)
            .join(MatchMember, MatchMember.id == SurveyAnswer.match_member_id)
            .where(MatchMember.member_id == member_id)
        )


async def test_the_survey_validates_its_fields_and_keep_in_touch_is_honoured(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    spaces = await launch(programme, 4)
    await fire(programme, "survey")
    (kept, (a, b)), (closed, (c, d)) = spaces
    kept_match, closed_match = await match_of(programme, kept), await match_of(programme, closed)
    (message,) = posted(emu, kept, SURVEY)
    (other,) = posted(emu, closed, SURVEY)

    refused = await (
        await emu.click(guild, programme.admin.id, message, f"tandem:survey:{kept_match}")
    ).response()
    assert "partners of this space only" in (refused.content or "")
    opened = await emu.click(guild, a, message, f"tandem:survey:{kept_match}")
    assert (await opened.response()).is_modal
    bad = await (await emu.submit_modal(guild, a, opened, modal_values("7"))).response()
    assert bad.ephemeral
    assert "Rating" in (bad.content or "")
    assert await survey_of(programme, a) is None
    opened = await emu.click(guild, a, message, f"tandem:survey:{kept_match}")
    await opened.response()
    good = await (
        await emu.submit_modal(guild, a, opened, modal_values("5", comments='=HYPERLINK("x")'))
    ).response()
    assert "saved" in (good.content or "")
    stored = await survey_of(programme, a)
    assert stored is not None
    assert (stored.rating, stored.gained, stored.comments) == (5, "A colleague abroad", '=HYPERLINK("x")')

    for member, where, match_id, what in (
        (a, message, kept_match, "space"),
        (b, message, kept_match, "space"),
        (a, message, kept_match, "next"),
        (c, other, closed_match, "space"),
        (d, other, closed_match, "close"),
    ):
        answer = await (await emu.click(guild, member, where, f"tandem:keep:{match_id}:{what}")).response()
        assert answer.ephemeral
        assert "Noted" in (answer.content or "")

    handle = await run(programme, "round end", delete_after="30d")
    offer = await handle.response()
    click = await emu.click(guild, programme.coordinator.id, offer, "tandem:confirm")
    await click.response()
    await click.wait_original(lambda m: "has ended" in m.content, timeout=20)
    assert len(posted(emu, kept, SURVEY)) == 1  # not sent again at the end
    for member in (a, b):
        assert emu.permissions_for(member, kept) & perms.SEND_MESSAGES
    assert any("keep in touch" in m.content for m in emu.messages(kept))
    for member in (c, d):
        assert not emu.permissions_for(member, closed) & perms.SEND_MESSAGES
    assert await programme.bot.rounds.delete_spaces(1) == 1
    assert emu.state.channels.get(kept) is not None
    assert emu.state.channels.get(closed) is None

    # "join the next round": a is enrolled as soon as the next round is created.
    answer = await programme.run(programme.coordinator, "round create", name="Autumn 2026", starts="now")
    assert "open for signups" in (answer.content or "")
    async with programme.bot.database.session() as session:
        enrolled = (
            await session.scalars(
                select(Participant.member_id)
                .join(Enrolment, Enrolment.participant_id == Participant.id)
                .where(Enrolment.round_id == 2)
            )
        ).all()
    assert list(enrolled) == [a]


async def test_the_survey_goes_out_at_the_end_when_it_has_not_yet(programme: Programme) -> None:
    emu = programme.emu
    spaces = await launch(programme, 4)
    handle = await run(programme, "round end")
    offer = await handle.response()
    click = await emu.click(programme.guild.id, programme.coordinator.id, offer, "tandem:confirm")
    await click.response()
    await click.wait_original(lambda m: "has ended" in m.content, timeout=20)
    for space, _partners in spaces:
        assert len(posted(emu, space, SURVEY)) == 1


# -- /report ---------------------------------------------------------------------------------------


async def test_report_returns_a_summary_a_csv_and_valid_pngs(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    spaces = await launch(programme, 4)
    await fire(programme, "checkin")
    (space, (first, _second)), _ = spaces
    match_id = await match_of(programme, space)
    (message,) = posted(emu, space, CHECKIN)
    await (await emu.click(guild, first, message, f"tandem:checkin:{match_id}:well")).response()

    refused = await programme.run(programme.add_member("nosy"), "report")
    assert "coordinators" in (refused.content or "")

    handle = await emu.slash(guild, programme.coordinator.id, "report", {})
    assert (await handle.response()).deferred
    answer = await handle.wait_original(lambda m: bool(m.attachments), timeout=20)
    assert answer.ephemeral
    assert "Report: Spring 2026" in answer.embeds[0]["title"]
    assert "Matches: **2**" in answer.embeds[0]["description"]
    files = {a.filename: a for a in answer.attachments}
    assert "spring-2026.csv" in files
    rows = list(csv.reader(io.StringIO(files["spring-2026.csv"].text())))
    assert len(rows) == 5  # the header and four partners
    assert sum(1 for r in rows[1:] if r[8] == "well") == 1
    pngs = [a for name, a in files.items() if name.endswith(".png")]
    assert len(pngs) == 5
    assert all(a.data.startswith(PNG_SIGNATURE) for a in pngs)

    unknown = await programme.run(programme.coordinator, "report", round="Winter 1999")
    assert "No launched or ended round" in (unknown.content or "")
