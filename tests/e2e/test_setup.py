"""/setup: coordinators see and change the programme's settings; mistakes change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.programmes import DEFAULT_INTERESTS
from bot.validation import DEFAULT_CAREER_STAGES, DEFAULT_SECTORS
from tests.e2e.conftest import Programme
from tests.emulator import CommandUnavailable
from tests.emulator import permissions as perms


def fields(response: Any) -> dict[str, str]:
    return {f["name"]: f["value"] for f in response.embeds[0]["fields"]}


def private_channel(programme: Programme, name: str, type: int = 0, bot_deny: int = 0) -> Any:
    """A channel only the bot and the coordinators can see."""
    emu, guild = programme.emu, programme.guild
    bot_allow = perms.VIEW_CHANNEL | perms.SEND_MESSAGES | perms.EMBED_LINKS
    return emu.create_channel(
        guild.id,
        name,
        type=type,
        overwrites={
            guild.id: (0, perms.VIEW_CHANNEL),
            emu.bot_role(guild.id): (bot_allow & ~bot_deny, bot_deny),
            programme.coordinator_role: (perms.VIEW_CHANNEL, 0),
        },
    )


async def test_setup_with_no_options_shows_the_defaults(programme: Programme) -> None:
    shown = await programme.run(programme.admin, "setup")
    assert shown.ephemeral
    embed = shown.embeds[0]
    assert embed["title"] == "Programme settings"
    values = fields(shown)
    assert (
        values["Coordinator role"] == f"<@&{programme.coordinator_role.id}>, and members with Manage Server"
    )
    assert values["Alerts channel"] == "not set"
    assert values["Time zone"] == "UTC"
    assert values["Spaces category (private channels)"] == "not set"
    assert values[f"Interests ({len(DEFAULT_INTERESTS)})"].startswith("open access; digital preservation")
    assert values[f"Sectors ({len(DEFAULT_SECTORS)})"] == "; ".join(DEFAULT_SECTORS)
    assert values[f"Career stages ({len(DEFAULT_CAREER_STAGES)})"] == "; ".join(DEFAULT_CAREER_STAGES)
    assert all(len(value) <= 1024 for value in values.values())
    # What still needs doing is said up front.
    assert "No alerts channel" in embed["description"]
    assert "No place for partner spaces yet" in embed["description"]
    assert shown.message is not None
    assert shown.message.mentions == []
    assert shown.message.mention_roles == []


async def test_each_option_is_saved_and_only_that_one(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild
    alerts = private_channel(programme, "coordinators")
    category = private_channel(programme, "Partner spaces", type=4)
    parent = emu.create_channel(guild.id, "partner-threads")
    new_role = emu.create_role(guild.id, "Programme team")
    steps: list[tuple[dict[str, Any], str, object]] = [
        ({"coordinator_role": new_role}, "coordinator_role_id", new_role.id),
        ({"alerts_channel": alerts}, "alerts_channel_id", alerts.id),
        ({"spaces_category": category}, "spaces_category_id", category.id),
        ({"spaces_parent_channel": parent}, "spaces_parent_channel_id", parent.id),
        ({"timezone": "australia/sydney"}, "timezone", "Australia/Sydney"),
        (
            {"interests": " zines; Oral history ;open access;"},
            "interests",
            ("zines", "Oral history", "open access"),
        ),
        ({"sectors": "university; public; special"}, "sectors", ("university", "public", "special")),
        ({"career_stages": "new; established"}, "career_stages", ("new", "established")),
    ]
    for options, name, value in steps:
        before = await programme.bot.programmes.get(guild.id)
        answer = await programme.run(programme.admin, "setup", **options)
        assert answer.ephemeral
        assert answer.embeds[0]["title"] == "Programme settings saved", answer.content
        after = await programme.bot.programmes.get(guild.id)
        assert getattr(after, name) == value
        others = {k: v for k, v in vars(after).items() if k != name}
        assert others == {k: v for k, v in vars(before).items() if k != name}
    shown = fields(await programme.run(programme.admin, "setup"))
    assert shown["Alerts channel"] == f"<#{alerts.id}>"
    assert shown["Spaces parent channel (private threads)"] == f"<#{parent.id}>"
    assert shown["Time zone"] == "Australia/Sydney"
    assert shown["Career stages (2)"] == "new; established"


async def test_the_reply_names_what_changed_and_settles_the_warnings(programme: Programme) -> None:
    alerts = private_channel(programme, "coordinators")
    category = private_channel(programme, "Partner spaces", type=4)
    answer = await programme.run(
        programme.admin, "setup", alerts_channel=alerts, spaces_category=category, timezone="Europe/London"
    )
    description = answer.embeds[0]["description"]
    assert description.startswith("Changed: alerts channel, spaces category, time zone.")
    assert "⚠️" not in description


async def test_warnings_for_channels_the_bot_cannot_use(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild
    public_alerts = emu.create_channel(guild.id, "general-chat")
    mute = private_channel(programme, "muted", bot_deny=perms.SEND_MESSAGES)
    category = emu.create_channel(
        guild.id, "Spaces", type=4, overwrites={emu.bot_role(guild.id): (0, perms.MANAGE_CHANNELS)}
    )
    answer = await programme.run(
        programme.admin, "setup", alerts_channel=public_alerts, spaces_category=category
    )
    description = answer.embeds[0]["description"]
    assert f"Everyone can read <#{public_alerts.id}>" in description
    assert "Tandem can't create partner spaces in **Spaces**: it needs Manage Channels there." in description
    answer = await programme.run(programme.admin, "setup", alerts_channel=mute)
    assert f"Tandem can't post in <#{mute.id}>: it needs Send Messages" in answer.embeds[0]["description"]
    # Saved all the same: the coordinator may fix the channel rather than the setting.
    assert (await programme.bot.programmes.get(guild.id)).alerts_channel_id == mute.id


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"timezone": "Europe/Londn"}, 'timezone "Europe/Londn": did you mean Europe/London?'),
        ({"timezone": "Mars/Olympus"}, 'timezone "Mars/Olympus": not an IANA time zone name'),
        (
            {"interests": ";".join(f"topic {n}" for n in range(26))},
            "interests: needs at most 25 items (got 26)",
        ),
        ({"interests": "open access; Open  Access"}, 'interests "Open Access": appears twice'),
        ({"interests": "zines;;oral history"}, "interests: item 2 is empty"),
        ({"interests": "children, young people"}, 'interests "children, young people": an interest cannot'),
        ({"interests": "x" * 41}, 'interests "' + "x" * 41 + '": must be at most 40 characters'),
        ({"sectors": "public"}, "sectors: needs at least 2 and at most 25 items (got 1)"),
        ({"career_stages": "early; EARLY"}, 'career_stages "EARLY": appears twice'),
        (
            {"career_stages": "early; mid; " + "s" * 41},
            'career_stages "' + "s" * 41 + '": must be at most 40 characters',
        ),
    ],
    ids=[
        "misspelt-zone",
        "unknown-zone",
        "too-many",
        "duplicate",
        "empty-item",
        "comma",
        "too-long",
        "too-few",
        "duplicate-stage",
        "long-stage",
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(
    programme: Programme, options: dict[str, str], expected: str
) -> None:
    before = await programme.bot.programmes.get(programme.guild.id)
    # A good option next to the bad one is not saved either: everything is checked first.
    alerts = private_channel(programme, "coordinators")
    answer = await programme.run(programme.admin, "setup", alerts_channel=alerts, **options)
    assert answer.ephemeral
    assert answer.content is not None
    assert answer.content.startswith("**Nothing was changed.**")
    assert expected in answer.content
    assert await programme.bot.programmes.get(programme.guild.id) == before


async def test_every_problem_is_listed_at_once(programme: Programme) -> None:
    answer = await programme.run(
        programme.admin, "setup", timezone="Europe/Londn", sectors="public", interests="a;a"
    )
    assert answer.content is not None
    assert answer.content.count("\n• ") == 3


async def test_the_coordinator_role_cannot_be_everyone_or_one_the_caller_lacks(programme: Programme) -> None:
    emu, guild = programme.emu, programme.guild
    everyone = await programme.run(programme.admin, "setup", coordinator_role=guild.id)
    assert "coordinator_role: @everyone would make every member a coordinator" in (everyone.content or "")
    emu.open_command_to_everyone(guild.id, "setup")
    other = emu.create_role(guild.id, "Library staff")
    locked_out = await programme.run(programme.coordinator, "setup", coordinator_role=other)
    assert "coordinator_role: you don't have @Library staff" in (locked_out.content or "")
    assert (await programme.bot.programmes.get(guild.id)).coordinator_role_id == programme.coordinator_role.id
    # The coordinator role alone is enough to change settings (once the command is opened to it).
    changed = await programme.run(programme.coordinator, "setup", timezone="America/Santiago")
    assert changed.embeds[0]["title"] == "Programme settings saved"


async def test_the_timezone_option_suggests_zones(programme: Programme) -> None:
    handle = await programme.emu.autocomplete(
        programme.guild.id, programme.admin.id, "setup", "timezone", timezone="santiago"
    )
    response = await handle.response()
    assert [choice["value"] for choice in response.choices] == ["America/Santiago"]


async def test_a_member_cannot_use_setup_even_when_it_is_opened_to_everyone(programme: Programme) -> None:
    member = programme.add_member("mo")
    with pytest.raises(CommandUnavailable):
        await programme.run(member, "setup")
    programme.emu.open_command_to_everyone(programme.guild.id, "setup")
    before = await programme.bot.programmes.get(programme.guild.id)
    for options in ({}, {"timezone": "Europe/Paris"}):
        refused = await programme.run(member, "setup", **options)
        assert refused.ephemeral
        assert "Only the programme's coordinators" in (refused.content or "")
        assert not refused.embeds  # not even a look at the settings
    assert await programme.bot.programmes.get(programme.guild.id) == before
