"""/participants import, export and list: coordinators handle the roster as a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select

from bot.applicants_csv import APPLICANT_COLUMNS
from bot.models import Enrolment, Participant
from tests.e2e.conftest import Programme
from tests.e2e.test_signup import open_round
from tests.emulator import Attachment, CommandUnavailable, InteractionHandle, Member, MemberForbidden

COLUMNS = (*APPLICANT_COLUMNS, "do_not_match")
PLACES = [
    ("Chile", "America/Santiago", "Spanish"),
    ("Nigeria", "Africa/Lagos", "en"),
    ("India", "Asia/Kolkata", "en; Tamil"),
    ("Japan", "Asia/Tokyo", "Japanese"),
    ("Kenya", "Africa/Nairobi", "Swahili; en"),
    ("Brazil", "America/Sao_Paulo", "Portuguese"),
    ("France", "Europe/Paris", "fr"),
    ("Canada", "America/Toronto", "en; fr"),
    ("Australia", "Australia/Sydney", "en"),
    ("Germany", "Europe/Berlin", "de; en"),
]
FORMULA = '=HYPERLINK("https://example.com/x","click me")'


def person(member: Member | int, name: str, place: int = 0, **fields: str) -> dict[str, str]:
    country, zone, languages = PLACES[place % len(PLACES)]
    row = {
        "discord_id": str(member if isinstance(member, int) else member.id),
        "name": name,
        "country": country,
        "timezone": zone,
        "languages": languages,
        "sector": "public",
        "career_stage": "mid",
        "interests": "open access; zines",
        "goals": f"Swap ideas with {name}'s peers",
        "match_preference": "interests",
        "do_not_match": "",
    }
    row.update(fields)
    return row


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def final_reply(handle: InteractionHandle) -> tuple[str, list[Any]]:
    """The text and files the caller ends up seeing, whether or not the bot deferred first."""
    first = await handle.response()
    assert first.ephemeral
    if not first.deferred:
        return first.content or "", first.attachments
    message = await handle.wait_original()
    assert message.ephemeral
    assert message.mentions == []
    assert not message.mention_everyone
    return message.content or "", message.attachments


async def import_file(programme: Programme, data: bytes, filename: str = "participants.csv") -> str:
    handle = await programme.emu.slash(
        programme.guild.id, programme.admin.id, "participants import", file=Attachment(filename, data)
    )
    content, _ = await final_reply(handle)
    return content


async def export_rows(programme: Programme) -> tuple[str, list[dict[str, str]]]:
    handle = await programme.emu.slash(programme.guild.id, programme.admin.id, "participants export")
    _, attachments = await final_reply(handle)
    (attachment,) = attachments
    assert attachment.filename == "tandem-participants-2026-03-02.csv"
    text = attachment.data.decode("utf-8-sig")
    return text, list(csv.DictReader(io.StringIO(text)))


async def profiles(programme: Programme) -> dict[int, Participant]:
    async with programme.bot.database.session() as session:
        rows = (await session.scalars(select(Participant))).all()
    return {row.member_id: row for row in rows if row.member_id is not None}


# -- import -------------------------------------------------------------------------------------


async def test_a_good_import_creates_profiles_and_enrols_them_in_the_open_round(programme: Programme) -> None:
    await open_round(programme)
    ana, bo, cai = (programme.add_member(name) for name in ("ana", "bo", "cai"))
    rows = [person(ana, "Ana Silva", 0), person(bo, "Bo Adeyemi", 1), person(cai, "Cai Tan", 2)]
    reply = await import_file(programme, csv_bytes(rows))
    assert reply == (
        "Imported 3 participants from “participants.csv”: 3 new, 0 updated.\n**Autumn 2026**: 3 enrolled."
    )
    stored = await profiles(programme)
    assert stored[ana.id].display_name == "Ana Silva"
    assert (stored[bo.id].country, stored[bo.id].timezone) == ("NG", "Africa/Lagos")
    assert sorted(stored[cai.id].languages) == ["en", "ta"]
    place = await programme.bot.participants.current_place(programme.guild.id, ana.id)
    assert place is not None
    assert (place.round_name, place.status) == ("Autumn 2026", "enrolled")
    # Importing again updates; it never duplicates.
    rows[0]["goals"] = "A new goal"
    again = await import_file(programme, csv_bytes(rows[:1]))
    assert again.startswith("Imported 1 participant from “participants.csv”: 0 new, 1 updated.")
    assert (await profiles(programme))[ana.id].goals == "A new goal"
    assert len(await profiles(programme)) == 3


async def test_an_import_without_an_open_round_says_no_one_was_enrolled(programme: Programme) -> None:
    dee = programme.add_member("dee")
    stranger = 301000000000000099
    reply = await import_file(programme, csv_bytes([person(dee, "Dee"), person(stranger, "Far Away", 3)]))
    assert "No round is open for signups, so no one was enrolled in a round." in reply
    assert "⚠️ 1 of them is not in this server yet" in reply
    assert f"Far Away ({stranger})" in reply
    assert set(await profiles(programme)) == {dee.id, stranger}


async def test_an_import_with_one_bad_row_imports_nothing_and_names_the_row(programme: Programme) -> None:
    await open_round(programme)
    members = [programme.add_member(f"m{n}") for n in range(3)]
    rows = [person(m, f"Member {n}", n) for n, m in enumerate(members)]
    rows[1]["timezone"] = "Europe/Londn"
    rows[1]["sector"] = "publik"
    reply = await import_file(programme, csv_bytes(rows))
    assert reply.startswith("**Nothing was imported.** “participants.csv” has 2 problems")
    assert 'row 3: timezone "Europe/Londn": did you mean Europe/London?' in reply
    assert 'row 3: sector "publik": did you mean public?' in reply
    assert await profiles(programme) == {}


async def test_a_long_list_of_problems_comes_as_a_file_too(programme: Programme) -> None:
    rows = [person(301000000000000100 + n, f"P{n}", timezone="Nowhere/City") for n in range(80)]
    handle = await programme.emu.slash(
        programme.guild.id,
        programme.admin.id,
        "participants import",
        file=Attachment("big.csv", csv_bytes(rows)),
    )
    content, attachments = await final_reply(handle)
    assert len(content) <= 2000
    assert "has 80 problems" in content
    assert "all 80 are in the attached file" in content
    assert "row 2: timezone" in content
    (problems,) = attachments
    assert problems.filename == "import-problems.txt"
    lines = problems.text().splitlines()
    assert len(lines) == 80
    assert lines[-1].startswith('row 81: timezone "Nowhere/City"')
    assert await profiles(programme) == {}


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("people.xlsx", b"PK\x03\x04...", "is a spreadsheet workbook, not a CSV file"),
        ("people.pdf", b"%PDF-1.7", "Attach a .csv file"),
        ("people.csv", b"PK\x03\x04\x14\x00", "This file is a spreadsheet workbook, not CSV text"),
        (
            "people.csv",
            "discord_id,name\n1,Sofía\n".encode("latin-1"),
            "This file is not UTF-8 text (the first unreadable character is on line 2)",
        ),
        ("people.csv", "discord_id".encode("utf-16"), "it looks like UTF-16 or binary"),
        ("huge.csv", b"x" * (5 * 1024 * 1024 + 1), "“huge.csv” is 5.0 MB, over the 5.0 MB limit"),
        ("people.csv", b"discord_id;name;country\n1;Ana;CL\n", "row 1: the columns are separated by ;"),
    ],
    ids=["workbook", "pdf", "zip-named-csv", "latin-1", "utf-16", "too-big", "semicolons"],
)
async def test_files_that_are_not_a_utf8_csv_are_refused(
    programme: Programme, filename: str, data: bytes, expected: str
) -> None:
    handle = await programme.emu.slash(
        programme.guild.id, programme.admin.id, "participants import", file=Attachment(filename, data)
    )
    content, _ = await final_reply(handle)
    assert expected in content
    assert await profiles(programme) == {}


# -- export -------------------------------------------------------------------------------------


async def test_export_escapes_formulas_and_imports_back_unchanged(programme: Programme) -> None:
    eve, fay, gus = (programme.add_member(name) for name in ("eve", "fay", "gus"))
    rows = [
        person(eve, "Eve", 0, goals=FORMULA, do_not_match=str(fay.id)),
        person(fay, "-Fay", 1, interests="open access; @home lending"),
        person(gus, "Gus", 2),
    ]
    await import_file(programme, csv_bytes(rows))
    await programme.bot.participants.delete_member_data(programme.guild.id, gus.id)
    before = {
        p.applicant.member_id: p
        for p in await programme.bot.participants.list_participants(programme.guild.id)
    }

    text, exported = await export_rows(programme)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    by_id = {int(row["discord_id"]): row for row in exported}
    assert set(by_id) == {eve.id, fay.id}  # erased data is not exported
    assert by_id[eve.id]["goals"] == "'" + FORMULA  # a spreadsheet shows it as text, never runs it
    assert by_id[eve.id]["do_not_match"] == str(fay.id)
    assert by_id[eve.id]["country"] == "CL"
    assert by_id[eve.id]["languages"] == "es"
    assert by_id[fay.id]["name"] == "'-Fay"
    for row in exported:
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row.values())

    # Exported, then imported as it is: nothing changes.
    reply = await import_file(programme, text.encode("utf-8-sig"), "tandem-participants-2026-03-02.csv")
    assert "0 new, 2 updated" in reply
    after = {
        p.applicant.member_id: p
        for p in await programme.bot.participants.list_participants(programme.guild.id)
    }
    assert after == before
    assert after[eve.id].applicant.goals == FORMULA


async def test_export_with_no_participants_gives_the_columns_to_fill_in(programme: Programme) -> None:
    handle = await programme.emu.slash(programme.guild.id, programme.admin.id, "participants export")
    content, attachments = await final_reply(handle)
    assert content.startswith("No participants yet.")
    assert attachments[0].data.decode("utf-8-sig").strip() == ",".join(COLUMNS)


# -- list ---------------------------------------------------------------------------------------


async def roster_with_a_round(programme: Programme) -> list[Member]:
    """30 participants, a third of them from Chile, in a round capped at 20% per country."""
    await open_round(programme, cap=20)
    members = [programme.add_member(f"member{n:02}") for n in range(30)]
    rows = [
        person(m, f"Person {n:02}", 0 if n < 10 else 1 + (n - 10) % 9)  # Chile first: some wait
        for n, m in enumerate(members)
    ]
    await import_file(programme, csv_bytes(rows))
    guild = programme.guild.id
    await programme.bot.participants.leave_current_round(guild, members[11].id)
    await programme.bot.participants.pause(guild, members[12].id, None)
    return members


async def places(programme: Programme, status: str) -> set[str]:
    async with programme.bot.database.session() as session:
        names = await session.scalars(
            select(Participant.display_name)
            .join(Enrolment, Enrolment.participant_id == Participant.id)
            .where(Enrolment.status == status)
        )
        return set(names.all())


def listed_names(embed: dict[str, Any]) -> list[str]:
    return [line.split("**")[1] for line in embed["description"].splitlines()]


async def test_list_pages_with_buttons_only_the_caller_can_press(programme: Programme) -> None:
    members = await roster_with_a_round(programme)
    emu, guild, admin = programme.emu, programme.guild.id, programme.admin
    first = await programme.run(admin, "participants list")
    assert first.ephemeral
    embed = first.embeds[0]
    assert embed["title"] == "Autumn 2026"
    assert embed["footer"]["text"] == "Page 1 of 3 · 30 participants"
    lines = embed["description"].splitlines()
    assert len(lines) == 12
    assert lines[0] == f"**Person 00** (<@{members[0].id}>) · Chile · enrolled"
    assert lines[-1] == f"**Person 11** (<@{members[11].id}>) · India · withdrawn"
    assert first.message is not None
    assert first.message.component("tandem:roster:previous")["disabled"]

    second = await (await emu.click(guild, admin.id, first, "tandem:roster:next")).response()
    assert second.embeds[0]["footer"]["text"] == "Page 2 of 3 · 30 participants"
    top = second.embeds[0]["description"].splitlines()[0]
    assert top == f"**Person 12** (<@{members[12].id}>) · Japan · enrolled, paused"
    third = await (await emu.click(guild, admin.id, first, "tandem:roster:next")).response()
    assert third.embeds[0]["footer"]["text"] == "Page 3 of 3 · 30 participants"
    assert len(listed_names(third.embeds[0])) == 6
    assert first.message.component("tandem:roster:next")["disabled"]
    back = await (await emu.click(guild, admin.id, first, "tandem:roster:previous")).response()
    assert back.embeds[0]["footer"]["text"] == "Page 2 of 3 · 30 participants"

    # The list is the caller's alone: Discord shows it to no one else, so no one else can page it.
    with pytest.raises(MemberForbidden):
        await emu.click(guild, programme.coordinator.id, first, "tandem:roster:next")


async def test_list_filters_by_round_country_and_status(programme: Programme) -> None:
    await roster_with_a_round(programme)
    admin = programme.admin
    waiting = await places(programme, "waitlisted")
    assert waiting  # the cap keeps some of Chile's ten waiting

    chile = await programme.run(admin, "participants list", country="cl")
    assert chile.embeds[0]["title"] == "Autumn 2026 · Chile"
    assert chile.embeds[0]["footer"]["text"] == "Page 1 of 1 · 10 participants"

    listed = await programme.run(admin, "participants list", status="waitlisted")
    assert listed.embeds[0]["title"] == "Autumn 2026 · on the waiting list"
    assert set(listed_names(listed.embeds[0])) == waiting
    assert all(line.endswith("· waiting list") for line in listed.embeds[0]["description"].splitlines())

    enrolled = await programme.run(admin, "participants list", status="enrolled", country="Chile")
    assert set(listed_names(enrolled.embeds[0])) == {f"Person {n:02}" for n in range(10)} - waiting

    withdrawn = await programme.run(admin, "participants list", status="withdrawn")
    assert listed_names(withdrawn.embeds[0]) == ["Person 11"]
    paused = await programme.run(admin, "participants list", status="paused")
    assert listed_names(paused.embeds[0]) == ["Person 12"]

    everyone = await programme.run(admin, "participants list", round="all")
    assert everyone.embeds[0]["title"] == "All profiles"
    assert everyone.embeds[0]["description"].splitlines()[0].endswith("· Chile")  # no round, no place

    nobody = await programme.run(admin, "participants list", country="Peru")
    assert nobody.content == "No participants in **Autumn 2026 · Peru**."


async def test_list_refuses_filters_it_cannot_apply(programme: Programme) -> None:
    admin = programme.admin
    no_round = await programme.run(admin, "participants list", status="enrolled")
    assert "status: “enrolled” needs a round, and there is none yet" in (no_round.content or "")
    await open_round(programme)
    unknown = await programme.run(admin, "participants list", round="Winter 1999")
    assert unknown.content == "round: there is no round called “Winter 1999” (rounds: “Autumn 2026”)."
    misspelt = await programme.run(admin, "participants list", country="Chilee")
    assert misspelt.content == 'country "Chilee": did you mean Chile?'


async def test_list_offers_the_rounds_to_coordinators_only(programme: Programme) -> None:
    await open_round(programme)
    emu, guild = programme.emu, programme.guild.id
    asked = await (
        await emu.autocomplete(guild, programme.admin.id, "participants list", "round", round="aut")
    ).response()
    assert [c["name"] for c in asked.choices] == ["All profiles, in a round or not", "Autumn 2026 (draft)"]
    by_menu = await programme.run(programme.admin, "participants list", round=asked.choices[1]["value"])
    assert by_menu.content == "No participants in **Autumn 2026**."
    emu.open_command_to_everyone(guild, "participants")
    member = programme.add_member("nosy")
    peeked = await (await emu.autocomplete(guild, member.id, "participants list", "round")).response()
    assert peeked.choices == []


async def test_names_in_the_list_are_shown_as_typed_and_never_ping(programme: Programme) -> None:
    await open_round(programme)
    ivy = programme.add_member("ivy")
    await import_file(programme, csv_bytes([person(ivy, "@everyone **Ivy** [x](https://e.com)")]))
    shown = await programme.run(programme.admin, "participants list")
    line = shown.embeds[0]["description"]
    assert line.startswith(r"**@everyone \*\*Ivy\*\* \[x\]\(https\://e.com\)**")
    assert shown.message is not None
    assert not shown.message.mention_everyone
    assert shown.message.mentions == []


# -- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "participants import",
            {"file": Attachment("p.csv", csv_bytes([person(301000000000000001, "Zed")]))},
        ),
        ("participants export", {}),
        ("participants list", {}),
    ],
    ids=["import", "export", "list"],
)
async def test_a_member_is_refused_even_when_the_commands_are_opened_to_everyone(
    programme: Programme, command: str, options: dict[str, Any]
) -> None:
    member = programme.add_member("mo")
    with pytest.raises(CommandUnavailable):
        await programme.run(member, command, **options)
    programme.emu.open_command_to_everyone(programme.guild.id, "participants")
    refused = await programme.run(member, command, **options)
    assert refused.ephemeral
    assert "Only the programme's coordinators" in (refused.content or "")
    assert not refused.attachments
    assert await profiles(programme) == {}
    # The coordinator role is enough, once the commands are opened to it.
    allowed = await programme.emu.slash(programme.guild.id, programme.coordinator.id, command, options)
    content, _ = await final_reply(allowed)
    assert "Only the programme's coordinators" not in content
