"""The permission computation, as plain unit tests over the emulator's state (no client)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.emulator import Emulator
from tests.emulator import permissions as p

EVERYONE_TEXT = p.VIEW_CHANNEL | p.SEND_MESSAGES | p.READ_MESSAGE_HISTORY | p.ATTACH_FILES | p.EMBED_LINKS


@pytest.fixture
def emu() -> Emulator:
    return Emulator()  # not started: the state and the rules need no server


@pytest.fixture
def setup(emu: Emulator):
    guild = emu.create_guild("G", everyone_permissions=EVERYONE_TEXT | p.SEND_MESSAGES_IN_THREADS)
    coordinators = emu.create_role(guild.id, "Coordinators")
    alice = emu.add_member(guild.id, "alice")
    bob = emu.add_member(guild.id, "bob")
    cora = emu.add_member(guild.id, "cora", roles=[coordinators])
    return guild, coordinators, alice, bob, cora


def test_everyone_sees_a_plain_channel(emu: Emulator, setup) -> None:
    guild, _, alice, _, _ = setup
    general = emu.channels(guild)[0]
    assert emu.can_view(alice, general)
    assert emu.permissions_for(alice, general) == EVERYONE_TEXT | p.SEND_MESSAGES_IN_THREADS


def test_everyone_denied_hides_the_channel_from_members_and_the_bot(emu: Emulator, setup) -> None:
    guild, _, alice, _, _ = setup
    private = emu.create_channel(guild, "private", overwrites={guild.id: (0, p.VIEW_CHANNEL)})
    assert not emu.can_view(alice, private)
    assert emu.permissions_for(alice, private) == 0  # no VIEW_CHANNEL: no permission at all
    assert not emu.can_view(emu.bot_user_id, private)  # the bot is not an administrator
    assert emu.can_view(guild.owner_id, private)  # the owner sees everything


def test_role_overwrite_allows_what_everyone_is_denied(emu: Emulator, setup) -> None:
    guild, coordinators, alice, _, cora = setup
    private = emu.create_channel(
        guild, "private", overwrites={guild.id: (0, p.VIEW_CHANNEL), coordinators: (p.VIEW_CHANNEL, 0)}
    )
    assert emu.can_view(cora, private)
    assert not emu.can_view(alice, private)


def test_member_overwrite_beats_role_overwrites(emu: Emulator, setup) -> None:
    guild, coordinators, alice, _, cora = setup
    channel = emu.create_channel(
        guild,
        "space",
        overwrites={
            guild.id: (0, p.VIEW_CHANNEL),
            coordinators: (p.VIEW_CHANNEL, 0),
            cora: (0, p.VIEW_CHANNEL),
            alice: (p.VIEW_CHANNEL, 0),
        },
    )
    assert emu.can_view(alice, channel)
    assert not emu.can_view(cora, channel)


def test_role_overwrites_are_combined_allow_wins_over_deny(emu: Emulator, setup) -> None:
    guild, coordinators, _, _, cora = setup
    mentors = emu.create_role(guild, "Mentors")
    emu.set_member_roles(guild, cora, [coordinators, mentors])
    channel = emu.create_channel(
        guild, "c", overwrites={coordinators: (0, p.SEND_MESSAGES), mentors: (p.SEND_MESSAGES, 0)}
    )
    assert emu.permissions_for(cora, channel) & p.SEND_MESSAGES


def test_everyone_overwrite_can_grant_beyond_base(emu: Emulator) -> None:
    guild = emu.create_guild("G", everyone_permissions=p.VIEW_CHANNEL)
    alice = emu.add_member(guild, "alice")
    channel = emu.create_channel(guild, "open", overwrites={guild.id: (p.SEND_MESSAGES, 0)})
    assert emu.permissions_for(alice, channel) == p.VIEW_CHANNEL | p.SEND_MESSAGES


def test_administrator_and_owner_ignore_overwrites(emu: Emulator, setup) -> None:
    guild, _, alice, _, _ = setup
    admins = emu.create_role(guild, "Admins", p.ADMINISTRATOR)
    boss = emu.add_member(guild, "boss", roles=[admins])
    channel = emu.create_channel(guild, "locked", overwrites={guild.id: (0, p.ALL), boss: (0, p.ALL)})
    assert emu.permissions_for(boss, channel) == p.ALL
    assert emu.permissions_for(guild.owner_id, channel) == p.ALL
    assert emu.permissions_for(alice, channel) == 0


def test_without_send_messages_files_embeds_and_mentions_are_implicitly_denied(emu: Emulator, setup) -> None:
    guild, _, alice, _, _ = setup
    channel = emu.create_channel(guild, "readonly", overwrites={guild.id: (0, p.SEND_MESSAGES)})
    permissions = emu.permissions_for(alice, channel)
    assert permissions & p.VIEW_CHANNEL
    assert not permissions & (p.SEND_MESSAGES | p.ATTACH_FILES | p.EMBED_LINKS | p.MENTION_EVERYONE)


def test_channel_in_category_copies_the_category_overwrites(emu: Emulator, setup) -> None:
    guild, coordinators, alice, _, cora = setup
    category = emu.create_channel(guild, "Spaces", type=4, overwrites={guild.id: (0, p.VIEW_CHANNEL)})
    child = emu.create_channel(guild, "inside", parent_id=category)
    assert not emu.can_view(alice, child)
    assert emu.can_view(guild.owner_id, child)
    assert child.overwrites[guild.id].deny == p.VIEW_CHANNEL
    assert coordinators.id not in child.overwrites
    assert not emu.can_view(cora, child)


def test_threads_inherit_the_parent_channel(emu: Emulator, setup) -> None:
    guild, coordinators, alice, _, cora = setup
    hidden = emu.create_channel(
        guild, "hidden", overwrites={guild.id: (0, p.VIEW_CHANNEL), coordinators: (p.VIEW_CHANNEL, 0)}
    )
    thread = emu.create_thread(hidden, "public thread", private=False, owner_id=cora)
    assert emu.can_view(cora, thread)
    assert not emu.can_view(alice, thread)
    # in threads SEND_MESSAGES_IN_THREADS, not SEND_MESSAGES, governs sending
    emu.set_overwrite(hidden, coordinators, allow=p.VIEW_CHANNEL, deny=p.SEND_MESSAGES_IN_THREADS)
    assert not emu.permissions_for(cora, thread) & p.SEND_MESSAGES_IN_THREADS
    assert emu.permissions_for(cora, hidden) & p.SEND_MESSAGES


def test_private_thread_is_visible_to_its_members_and_thread_managers_only(emu: Emulator, setup) -> None:
    guild, coordinators, alice, bob, cora = setup
    general = emu.channels(guild)[0]
    thread = emu.create_thread(general, "pair", private=True, owner_id=emu.bot_user_id, members=[alice])
    assert emu.can_view(alice, thread)
    assert not emu.can_view(bob, thread)
    assert not emu.can_view(cora, thread)
    assert emu.can_view(emu.bot_user_id, thread)  # a member (and the bot has MANAGE_THREADS)
    managers = emu.create_role(guild, "Thread managers", p.MANAGE_THREADS)
    emu.set_member_roles(guild, cora, [coordinators, managers])
    assert emu.can_view(cora, thread)
    emu.add_thread_member(thread, bob)
    assert emu.can_view(bob, thread)
    assert emu.viewers(thread) == {alice.id, bob.id, cora.id, emu.bot_user_id, guild.owner_id}


def test_private_thread_member_who_cannot_see_the_parent_cannot_see_the_thread(emu: Emulator, setup) -> None:
    guild, _, alice, bob, _ = setup
    parent = emu.create_channel(
        guild, "staff", overwrites={guild.id: (0, p.VIEW_CHANNEL), bob: (p.VIEW_CHANNEL, 0)}
    )
    thread = emu.create_thread(parent, "pair", private=True, members=[alice, bob])
    assert not emu.can_view(alice, thread)
    assert emu.can_view(bob, thread)


def test_dm_channels_and_strangers(emu: Emulator, setup) -> None:
    guild, _, alice, bob, _ = setup
    dm = emu.dm_channel(alice)
    assert emu.can_view(alice, dm)
    assert not emu.can_view(bob, dm)
    stranger = emu.create_user("stranger")
    assert emu.permissions_for(stranger, emu.channels(guild)[0]) == 0


def test_names_lists_the_bits() -> None:
    assert p.names(p.VIEW_CHANNEL | p.SEND_MESSAGES) == ["VIEW_CHANNEL", "SEND_MESSAGES"]
    assert p.has(p.ALL, p.MANAGE_THREADS | p.ADMINISTRATOR)


bits = st.integers(min_value=0, max_value=(1 << 52) - 1).map(lambda v: v & p.ALL)


@settings(max_examples=150, deadline=None)
@given(everyone=bits, role=bits, role_allow=bits, role_deny=bits, own_allow=bits, own_deny=bits)
def test_member_overwrite_has_the_last_word(
    everyone, role, role_allow, role_deny, own_allow, own_deny
) -> None:
    emu = Emulator()
    guild = emu.create_guild("G", everyone_permissions=everyone & ~p.ADMINISTRATOR, with_general=False)
    r = emu.create_role(guild, "r", role & ~p.ADMINISTRATOR)
    member = emu.add_member(guild, "m", roles=[r])
    own_deny &= ~own_allow
    channel = emu.create_channel(
        guild, "c", overwrites={r: (role_allow, role_deny), member: (own_allow, own_deny)}
    )
    result = emu.permissions_for(member, channel)
    if not own_allow & p.VIEW_CHANNEL and (own_deny & p.VIEW_CHANNEL or not result & p.VIEW_CHANNEL):
        assert result == 0
        return
    assert result & p.VIEW_CHANNEL
    assert result & own_deny == 0
    implicit = p.MENTION_EVERYONE | p.SEND_TTS_MESSAGES | p.ATTACH_FILES | p.EMBED_LINKS
    expected_allowed = own_allow if result & p.SEND_MESSAGES else own_allow & ~implicit
    assert result & expected_allowed == expected_allowed
