"""The bot as a user meets it: it connects, publishes its commands, helps, and never goes silent."""

from __future__ import annotations

import logging
import re

import pytest

from tests.e2e.conftest import Programme
from tests.emulator import CommandUnavailable


async def test_the_bot_connects_and_publishes_its_commands_to_the_dev_guild(programme: Programme) -> None:
    names = {command.name for command in programme.emu.commands(programme.guild.id)}
    assert {"help", "probe-admin", "probe-crash"} <= names
    assert programme.emu.commands() == []  # DEV_GUILD_ID set: nothing published globally
    assert programme.bot.is_ready()


async def test_the_bot_asks_only_for_the_intents_it_needs(programme: Programme) -> None:
    intents = programme.bot.intents
    assert intents.members
    assert intents.guild_messages
    assert not intents.message_content
    assert not intents.presences


async def test_help_shows_participants_their_commands_only(programme: Programme) -> None:
    member = programme.add_member("ana")
    response = await programme.run(member, "help")
    assert response.ephemeral
    fields = {f["name"]: f["value"] for f in response.embeds[0]["fields"]}
    assert list(fields) == ["Your commands"]
    assert "`/help` — List the commands you can use" in fields["Your commands"]
    assert "probe-admin" not in str(response.embeds)


@pytest.mark.parametrize("who", ["coordinator", "admin"])
async def test_help_shows_coordinators_their_commands_too(programme: Programme, who: str) -> None:
    response = await programme.run(getattr(programme, who), "help")
    assert response.ephemeral
    fields = {f["name"]: f["value"] for f in response.embeds[0]["fields"]}
    assert "`/probe-admin ping` — Answer pong, to coordinators only" in fields["Coordinator commands"]
    assert "`/help`" in fields["Your commands"]


async def test_an_unexpected_error_is_reported_with_an_error_id(
    programme: Programme, caplog: pytest.LogCaptureFixture
) -> None:
    member = programme.add_member("ben")
    response = await programme.run(member, "probe-crash")
    assert response.ephemeral
    assert response.content is not None
    found = re.search(r"error id `([A-Z0-9]{6})`", response.content)
    assert found, response.content
    logged = [r for r in caplog.records if r.name == "bot.interactions" and r.levelno == logging.ERROR]
    assert len(logged) == 1
    assert found.group(1) in logged[0].getMessage()
    assert "/probe-crash" in logged[0].getMessage()
    assert logged[0].exc_info is not None
    assert "the probe failed on purpose" in str(logged[0].exc_info[1])


async def test_an_error_meant_for_the_user_is_shown_privately_and_not_logged_as_a_failure(
    programme: Programme, caplog: pytest.LogCaptureFixture
) -> None:
    response = await programme.run(programme.add_member("cai"), "probe-refuse")
    assert response.ephemeral
    assert response.content == "That can't be done: the probe says no."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_coordinator_commands_are_hidden_from_members_by_default(programme: Programme) -> None:
    with pytest.raises(CommandUnavailable):
        await programme.run(programme.add_member("dee"), "probe-admin ping")


async def test_the_bot_refuses_a_member_even_when_an_admin_opened_the_command_to_everyone(
    programme: Programme,
) -> None:
    programme.emu.open_command_to_everyone(programme.guild.id, "probe-admin")
    response = await programme.run(programme.add_member("eve"), "probe-admin ping")
    assert response.ephemeral
    assert response.content is not None
    assert "Only the programme's coordinators" in response.content


async def test_the_coordinator_role_is_enough_without_manage_server(programme: Programme) -> None:
    programme.emu.open_command_to_everyone(programme.guild.id, "probe-admin")
    response = await programme.run(programme.coordinator, "probe-admin ping")
    assert response.content == "pong"


async def test_the_token_never_appears_in_the_logs(
    programme: Programme, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await programme.run(programme.add_member("fay"), "probe-crash")
    await programme.run(programme.coordinator, "help")
    text = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert programme.emu.bot_token not in text
