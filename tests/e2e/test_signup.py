"""Signing up and managing one's own profile, through the real modals, buttons and menus."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.models import Participant, Round
from tests.e2e.conftest import START, Programme
from tests.emulator import InteractionResponse, Member
from tests.support.privacy import rows_holding

STEP_ONE = {
    "country": "Chile",
    "timezone": "",
    "languages": "Spanish, English",
    "goals": "Learn how other libraries run community programmes.",
    "do_not_match": [],
}
STEP_TWO = {
    "sector": ["public"],
    "career_stage": ["mid"],
    "match_preference": ["interests"],
    "interests": ["community outreach", "open access"],
    "own_interests": "zines",
}


def modal_inputs(response: InteractionResponse) -> dict[str, dict[str, Any]]:
    """The modal's inputs by custom_id (Label-wrapped components)."""
    assert response.modal is not None, "the bot did not open a modal"
    inputs = {}
    for row in response.modal["components"]:
        component = row.get("component") or row["components"][0]
        inputs[component["custom_id"]] = component
    return inputs


async def sign_up(
    programme: Programme, member: Member, one: dict[str, Any], two: dict[str, Any]
) -> InteractionResponse:
    """Run the whole form: /signup, step one, pick a zone if asked, Continue, step two."""
    emu, guild = programme.emu, programme.guild.id
    opened = await emu.slash(guild, member.id, "signup")
    assert (await opened.response()).is_modal
    step_one = await emu.submit_modal(guild, member.id, opened, one)
    answer = await step_one.response()
    assert answer.message is not None, answer.content
    if answer.message.component("tandem:signup:zone") is not None and not one.get("timezone"):
        picked = await emu.select(guild, member.id, answer, "tandem:signup:zone", ["America/Santiago"])
        await picked.response()
    proceed = await emu.click(guild, member.id, answer, "tandem:signup:continue")
    assert (await proceed.response()).is_modal
    step_two = await emu.submit_modal(guild, member.id, proceed, two)
    return await step_two.response()


async def stored(programme: Programme, member: Member) -> Participant | None:
    async with programme.bot.database.session() as session:
        return await session.scalar(select(Participant).where(Participant.member_id == member.id))


async def open_round(programme: Programme, cap: int | None = None) -> None:
    async with programme.bot.database.session() as session:
        session.add(
            Round(
                guild_id=programme.guild.id,
                name="Autumn 2026",
                starts_at=START + timedelta(days=14),
                ends_at=START + timedelta(weeks=18),
                cadence_seconds=14 * 86400,
                country_cap_percent=cap,
                created_at=START,
            )
        )


async def test_a_member_signs_up_through_the_two_step_form(programme: Programme) -> None:
    ana = programme.add_member("ana")
    answer = await sign_up(programme, ana, STEP_ONE, STEP_TWO)
    assert answer.ephemeral
    embed = answer.message.embeds[0] if answer.message else answer.embeds[0]
    assert embed["title"] == "Welcome to the programme!"
    assert "No round is open for signups" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Country"] == "Chile"
    assert fields["Time zone"].startswith("America/Santiago (now ")
    assert fields["Languages"] == "English, Spanish"
    assert fields["Interests"] == "community outreach, open access, zines"
    row = await stored(programme, ana)
    assert row is not None
    assert (row.country, row.timezone, row.sector, row.career_stage) == (
        "CL",
        "America/Santiago",
        "public",
        "mid",
    )
    assert sorted(row.languages) == ["en", "es"]
    assert row.display_name == "ana"


async def test_the_reply_says_whether_the_member_is_enrolled(programme: Programme) -> None:
    await open_round(programme)
    answer = await sign_up(programme, programme.add_member("bo"), STEP_ONE, STEP_TWO)
    assert answer.message is not None
    assert "You're enrolled in **Autumn 2026**" in answer.message.embeds[0]["description"]


async def test_mistakes_are_listed_together_and_nothing_is_saved(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild.id
    cai = programme.add_member("cai")
    opened = await emu.slash(guild, cai.id, "signup")
    await opened.response()
    bad = {**STEP_ONE, "country": "Chilee", "timezone": "Europe/Londn", "languages": "Klingonese"}
    answer = await (await emu.submit_modal(guild, cai.id, opened, bad)).response()
    assert answer.ephemeral
    assert answer.content is not None
    assert 'country "Chilee": did you mean Chile?' in answer.content
    assert 'timezone "Europe/Londn": did you mean Europe/London?' in answer.content
    assert 'languages "Klingonese"' in answer.content
    assert await stored(programme, cai) is None
    # "Fix my answers" reopens the form as they left it, so nothing has to be typed twice.
    reopened = await (await emu.click(guild, cai.id, answer, "tandem:signup:fix")).response()
    inputs = modal_inputs(reopened)
    assert inputs["country"]["value"] == "Chilee"
    assert inputs["goals"]["value"] == STEP_ONE["goals"]


async def test_running_signup_again_edits_the_profile_prefilled(programme: Programme) -> None:
    dee = programme.add_member("dee")
    avoided = programme.add_member("zed")
    await sign_up(programme, dee, {**STEP_ONE, "do_not_match": [avoided.id]}, STEP_TWO)
    opened = await (await programme.emu.slash(programme.guild.id, dee.id, "signup")).response()
    inputs = modal_inputs(opened)
    assert inputs["country"]["value"] == "Chile"
    assert inputs["timezone"]["value"] == "America/Santiago"
    assert inputs["languages"]["value"] == "English, Spanish"
    assert [int(v["id"]) for v in inputs["do_not_match"]["default_values"]] == [avoided.id]
    answer = await sign_up(
        programme, dee, {**STEP_ONE, "country": "AR", "timezone": "America/Argentina/Cordoba"}, STEP_TWO
    )
    assert answer.message is not None
    assert answer.message.embeds[0]["title"] == "Your profile is updated"
    row = await stored(programme, dee)
    assert row is not None
    assert (row.country, row.timezone) == ("AR", "America/Argentina/Cordoba")


async def test_profile_shows_the_member_their_own_profile(programme: Programme) -> None:
    eve = programme.add_member("eve")
    empty = await programme.run(eve, "profile")
    assert empty.ephemeral
    assert empty.content == "You have no profile yet: run /signup to join the programme."
    await sign_up(programme, eve, STEP_ONE, STEP_TWO)
    shown = await programme.run(eve, "profile")
    assert shown.ephemeral
    assert shown.embeds[0]["title"] == "Your profile"
    assert shown.message is not None
    assert shown.message.component("tandem:profile:edit") is not None
    edit = await (
        await programme.emu.click(programme.guild.id, eve.id, shown, "tandem:profile:edit")
    ).response()
    assert modal_inputs(edit)["country"]["value"] == "Chile"


async def test_pause_and_resume(programme: Programme) -> None:
    fay = programme.add_member("fay")
    await sign_up(programme, fay, STEP_ONE, STEP_TWO)
    refused = await programme.run(fay, "pause", until="next tuesday")
    assert refused.ephemeral
    assert "neither a date" in (refused.content or "")
    row = await stored(programme, fay)
    assert row is not None
    assert not row.paused
    paused = await programme.run(fay, "pause", until="2w")
    assert "You're paused until" in (paused.content or "")
    row = await stored(programme, fay)
    assert row is not None
    assert row.paused
    assert row.paused_until == START + timedelta(weeks=2)
    resumed = await programme.run(fay, "resume")
    assert resumed.content == "Welcome back! Reminders are on again."
    again = await programme.run(fay, "resume")
    assert again.content == "You are not paused, so there is nothing to resume."


async def test_leave_asks_first_then_withdraws_and_alerts_coordinators(programme: Programme) -> None:
    alerts = programme.emu.create_channel(programme.guild.id, "coordinators")
    await programme.bot.programmes.update(programme.guild.id, alerts_channel_id=alerts.id)
    await open_round(programme)
    gus = programme.add_member("gus")
    await sign_up(programme, gus, STEP_ONE, STEP_TWO)
    asked = await programme.run(gus, "leave")
    assert "Leave **Autumn 2026**?" in (asked.content or "")
    cancelled = await (
        await programme.emu.click(programme.guild.id, gus.id, asked, "tandem:cancel")
    ).response()
    assert cancelled.content == "Nothing was changed."
    assert await programme.bot.participants.current_place(programme.guild.id, gus.id) is not None

    asked = await programme.run(gus, "leave")
    click = await programme.emu.click(programme.guild.id, gus.id, asked, "tandem:confirm")
    assert (await click.response()).content == "Leaving **Autumn 2026**…"  # the button is answered at once
    done = await click.wait_original(lambda message: "You've left" in message.content)
    assert "You've left **Autumn 2026**" in done.content
    assert await programme.bot.participants.current_place(programme.guild.id, gus.id) is None
    alert = await programme.emu.wait_for_message(alerts.id)
    assert alert.content == f"<@{gus.id}> left with /leave and is no longer in **Autumn 2026**."
    assert alert.mentions == []  # told, not pinged
    nothing = await programme.run(gus, "leave")
    assert nothing.content == "You are not in a round at the moment, so there is nothing to leave."


async def test_privacy_export_sends_everything_held(programme: Programme) -> None:
    hal = programme.add_member("hal")
    await sign_up(programme, hal, STEP_ONE, STEP_TWO)
    answer = await programme.run(hal, "privacy export")
    assert answer.ephemeral
    (attachment,) = answer.attachments
    assert attachment.filename == "tandem-my-data.json"
    data = json.loads(attachment.text())
    assert data["member_id"] == str(hal.id)
    assert data["profile"]["country"] == "CL"
    assert data["profile"]["goals"] == STEP_ONE["goals"]


async def test_privacy_delete_erases_the_profile(programme: Programme) -> None:
    ivy = programme.add_member("ivy")
    await sign_up(programme, ivy, STEP_ONE, STEP_TWO)
    asked = await programme.run(ivy, "privacy delete")
    click = await programme.emu.click(programme.guild.id, ivy.id, asked, "tandem:confirm")
    await click.wait_original(lambda m: "Your data is erased" in m.content)
    assert await stored(programme, ivy) is None
    assert await rows_holding(programme.bot.database, [ivy.id, "ivy", STEP_ONE["goals"]]) == []


async def test_a_member_who_leaves_the_server_is_withdrawn(programme: Programme) -> None:
    alerts = programme.emu.create_channel(programme.guild.id, "coordinators")
    await programme.bot.programmes.update(programme.guild.id, alerts_channel_id=alerts.id)
    await open_round(programme)
    lou = programme.add_member("lou")
    await sign_up(programme, lou, STEP_ONE, STEP_TWO)
    programme.emu.remove_member(programme.guild.id, lou.id)
    alert = await programme.emu.wait_for_message(alerts.id)
    assert alert.content == f"<@{lou.id}> left the server and is no longer in **Autumn 2026**."
    assert await programme.bot.participants.current_place(programme.guild.id, lou.id) is None


async def test_members_with_a_profile_are_asked_to_join_a_new_round(programme: Programme) -> None:
    from bot.invitations import send_round_invitations

    mo = programme.add_member("mo")
    shy = programme.add_member("shy", dms_open=False)
    await sign_up(programme, mo, STEP_ONE, STEP_TWO)
    await sign_up(programme, shy, STEP_ONE, STEP_TWO)
    await open_round(programme)
    async with programme.bot.database.session() as session:
        round_id = (await session.scalars(select(Round.id))).one()
    assert await send_round_invitations(programme.bot, programme.guild.id, round_id, "Autumn 2026") == 1
    invitation = await programme.emu.wait_for_dm(mo.id)
    assert "**Autumn 2026**" in invitation.content
    button = f"tandem:join:{programme.guild.id}:{round_id}"
    joined = await (await programme.emu.click(None, mo.id, invitation, button)).response()
    assert joined.content is not None
    assert "You're enrolled in **Autumn 2026**" in joined.content
    place = await programme.bot.participants.current_place(programme.guild.id, mo.id)
    assert place is not None
    assert place.status == "enrolled"
    # Nobody is asked twice: mo has a place now, and shy's DMs are closed.
    assert await programme.bot.participants.members_to_invite(programme.guild.id, round_id) == [shy.id]


async def test_a_waiting_member_is_told_when_a_place_frees_up(programme: Programme) -> None:
    await open_round(programme, cap=20)
    first, second, third = (programme.add_member(name) for name in ("nia", "ola", "pat"))
    for member in (first, second, third):
        await sign_up(programme, member, STEP_ONE, STEP_TWO)
    waiting = await programme.bot.participants.current_place(programme.guild.id, third.id)
    assert waiting is not None
    assert (waiting.status, waiting.waitlist_position) == ("waitlisted", 1)
    asked = await programme.run(first, "leave")
    await (await programme.emu.click(programme.guild.id, first.id, asked, "tandem:confirm")).response()
    told = await programme.emu.wait_for_dm(third.id)
    assert "a place freed up in **Autumn 2026**" in told.content
