"""A small but real discord.py bot used to exercise the emulator end to end.

It registers guild commands (typed options, a subcommand group, an attachment option, a user
option), a persistent view with a button and a string select, a modal whose inputs are wrapped in
``discord.ui.Label`` (a select and a text input), and a few commands that make REST calls the
emulator must handle (private channels, private threads, DMs, file uploads).
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


class PanelView(discord.ui.View):
    """A persistent view: fixed custom ids, no timeout."""

    def __init__(self, bot: TestBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Join", custom_id="panel:join", style=discord.ButtonStyle.primary)
    async def join(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.bot.record("join", interaction.user.id)
        await interaction.response.send_message(f"Joined, {interaction.user.name}!", ephemeral=True)

    @discord.ui.button(label="Refresh", custom_id="panel:refresh")
    async def refresh(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="Refreshed", view=self)

    @discord.ui.select(
        custom_id="panel:topic",
        placeholder="Pick topics",
        min_values=1,
        max_values=2,
        options=[discord.SelectOption(label=x.title(), value=x) for x in ("science", "art", "policy")],
    )
    async def topic(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        self.bot.record("topics", list(select.values))
        await interaction.response.send_message(f"Topics: {', '.join(select.values)}", ephemeral=True)

    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="panel:partner", placeholder="Preferred partner")
    async def partner(self, interaction: discord.Interaction, select: discord.ui.UserSelect) -> None:
        chosen = select.values[0]
        self.bot.record("partner", (type(chosen).__name__, chosen.id))
        await interaction.response.send_message(f"Partner: {chosen.name}", ephemeral=True)

    @discord.ui.select(cls=discord.ui.RoleSelect, custom_id="panel:role", placeholder="Role")
    async def role(self, interaction: discord.Interaction, select: discord.ui.RoleSelect) -> None:
        self.bot.record("role", [(type(r).__name__, r.id) for r in select.values])
        await interaction.response.defer()

    @discord.ui.select(
        cls=discord.ui.ChannelSelect,
        custom_id="panel:channel",
        channel_types=[discord.ChannelType.text],
        placeholder="Channel",
    )
    async def channel(self, interaction: discord.Interaction, select: discord.ui.ChannelSelect) -> None:
        self.bot.record("channel", [(type(c).__name__, c.id) for c in select.values])
        await interaction.response.defer()


class SignupModal(discord.ui.Modal, title="Sign up"):
    """A modal with Label-wrapped components (discord.py 2.6+), as Tandem's /signup uses."""

    languages = discord.ui.Label(
        text="Languages",
        component=discord.ui.Select(
            custom_id="signup:languages",
            min_values=1,
            max_values=3,
            options=[discord.SelectOption(label=x, value=x) for x in ("en", "fr", "de", "es")],
        ),
    )
    goals = discord.ui.Label(
        text="Your goals",
        component=discord.ui.TextInput(
            custom_id="signup:goals", style=discord.TextStyle.paragraph, max_length=300
        ),
    )
    nickname = discord.ui.TextInput(label="Nickname", custom_id="signup:nick", required=False)

    def __init__(self, bot: TestBot) -> None:
        super().__init__()
        self.bot = bot

    async def on_submit(self, interaction: discord.Interaction) -> None:
        select = self.languages.component
        text = self.goals.component
        assert isinstance(select, discord.ui.Select)
        assert isinstance(text, discord.ui.TextInput)
        self.bot.record(
            "signup", {"languages": list(select.values), "goals": text.value, "nick": self.nickname.value}
        )
        await interaction.response.send_message(f"Thanks! {', '.join(select.values)}", ephemeral=True)


class TestBot(commands.Bot):
    """The bot. ``seen`` collects what handlers observed, for assertions."""

    __test__ = False

    def __init__(self, guild_id: int, *, intents: discord.Intents | None = None, **options: Any) -> None:
        if intents is None:
            intents = discord.Intents.default()
            intents.members = True
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(command_prefix="!", intents=intents, **options)
        self.guild_id = guild_id
        self.seen: dict[str, list[Any]] = {}
        self.resumed = asyncio.Event()
        self.tree.add_command(RoundGroup(self), guild=discord.Object(guild_id))
        self._add_commands()

    def record(self, key: str, value: Any) -> None:
        self.seen.setdefault(key, []).append(value)

    async def setup_hook(self) -> None:
        self.add_view(PanelView(self))
        await self.tree.sync(guild=discord.Object(self.guild_id))
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before re-identifying (Discord's identify rate limit); skip it."""

    async def on_resumed(self) -> None:
        self.resumed.set()

    async def on_message(self, message: discord.Message) -> None:
        self.record("message", (message.author.id, message.channel.id, message.content))

    async def on_member_join(self, member: discord.Member) -> None:
        self.record("member_join", member.id)

    def _add_commands(self) -> None:
        guild = discord.Object(self.guild_id)
        tree = self.tree

        @tree.command(name="ping", description="A global command, also usable in DMs")
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
        async def ping(interaction: discord.Interaction) -> None:
            where = "dm" if interaction.guild_id is None else "guild"
            await interaction.response.send_message(f"pong from {where}", ephemeral=where == "guild")

        @tree.command(name="echo", description="Echo typed options", guild=guild)
        @app_commands.describe(text="What to say", count="How often", loud="Shout")
        async def echo(
            interaction: discord.Interaction,
            text: str,
            count: app_commands.Range[int, 1, 5] = 1,
            loud: bool = False,
            ratio: float = 1.0,
            who: discord.Member | None = None,
            role: discord.Role | None = None,
            where: discord.TextChannel | None = None,
        ) -> None:
            self.record(
                "echo",
                {
                    "text": text,
                    "count": count,
                    "loud": loud,
                    "ratio": ratio,
                    "who": who,
                    "role": role,
                    "where": where,
                },
            )
            body = " ".join([text.upper() if loud else text] * count)
            await interaction.response.send_message(body, allowed_mentions=discord.AllowedMentions.none())

        @tree.command(name="secret", description="Ephemeral answer and a follow-up", guild=guild)
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("only you", ephemeral=True)
            await interaction.followup.send("follow-up, also private", ephemeral=True)
            await interaction.followup.send("follow-up, public")

        @tree.command(name="slow", description="Defers, works, then edits", guild=guild)
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True, ephemeral=True)
            await asyncio.sleep(0.05)
            await interaction.edit_original_response(content="done after work")

        @tree.command(name="late", description="Answers too late", guild=guild)
        async def late(interaction: discord.Interaction, delay: float) -> None:
            await asyncio.sleep(delay)
            try:
                await interaction.response.send_message("too late?")
            except discord.NotFound as exc:
                self.record("late_error", exc.code)

        @tree.command(name="panel", description="Post the panel", guild=guild)
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Panel", view=PanelView(self))

        @tree.command(name="signup", description="Open the signup modal", guild=guild)
        async def signup(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(SignupModal(self))

        @tree.command(name="admin", description="Managers only", guild=guild)
        @app_commands.default_permissions(manage_guild=True)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("admin ok", ephemeral=True)

        @tree.command(name="space", description="Create a private channel for a member", guild=guild)
        async def space(
            interaction: discord.Interaction, member: discord.Member, private_thread: bool = False
        ) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            assert interaction.guild is not None
            if private_thread:
                parent = interaction.channel
                assert isinstance(parent, discord.TextChannel)
                thread = await parent.create_thread(
                    name=f"space {member.name}", type=discord.ChannelType.private_thread, invitable=False
                )
                await thread.add_user(member)
                await thread.send(f"Welcome {member.mention}")
                await interaction.followup.send(f"thread {thread.id}")
                return
            me = interaction.guild.me
            overwrites = {
                interaction.guild.default_role: discord.PermissionOverwrite(view_channel=False),
                member: discord.PermissionOverwrite(view_channel=True, send_messages=True),
                me: discord.PermissionOverwrite(view_channel=True, send_messages=True),
            }
            channel = await interaction.guild.create_text_channel(
                f"Space {member.name}", overwrites=overwrites
            )
            await channel.send(
                f"Welcome {member.mention}", allowed_mentions=discord.AllowedMentions(users=[member])
            )
            await interaction.followup.send(f"channel {channel.id}")

        @tree.command(name="export", description="Send a CSV and a PNG", guild=guild)
        async def export(interaction: discord.Interaction) -> None:
            csv = io.BytesIO(b"name,country\nalice,FR\nbob,DE\n")
            files = [
                discord.File(csv, filename="participants.csv"),
                discord.File(io.BytesIO(PNG_BYTES), "chart.png"),
            ]
            await interaction.response.send_message("Export", files=files, ephemeral=True)

        @tree.command(name="topic", description="Pick a topic", guild=guild)
        async def topic(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"topic {name}", ephemeral=True)

        @topic.autocomplete("name")
        async def topic_autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            names = ("science", "sport", "art")
            return [app_commands.Choice(name=t.title(), value=t) for t in names if t.startswith(current)]

        @tree.context_menu(name="Profile", guild=guild)
        async def profile(interaction: discord.Interaction, member: discord.Member) -> None:
            await interaction.response.send_message(f"profile of {member.name}", ephemeral=True)

        @tree.command(name="dm", description="DM a member", guild=guild)
        async def dm(interaction: discord.Interaction, member: discord.Member) -> None:
            try:
                await member.send("Hello from the bot")
            except discord.Forbidden as exc:
                await interaction.response.send_message(f"DM failed: {exc.code}", ephemeral=True)
            else:
                await interaction.response.send_message("DM sent", ephemeral=True)


class RoundGroup(app_commands.Group):
    """``/round create``, ``/round status`` and the subcommand group ``/round admin reset``."""

    admin = app_commands.Group(name="admin", description="Round administration")

    def __init__(self, bot: TestBot) -> None:
        super().__init__(name="round", description="Rounds")
        self.bot = bot

    @app_commands.command(name="create", description="Create a round")
    @app_commands.describe(name="Round name", starts="Start date", file="Applicants CSV")
    async def create(
        self, interaction: discord.Interaction, name: str, starts: str, file: discord.Attachment | None = None
    ) -> None:
        content = (await file.read()).decode() if file is not None else None
        self.bot.record(
            "round_create",
            {"name": name, "starts": starts, "file": file and file.filename, "content": content},
        )
        await interaction.response.send_message(f"Round {name} created", ephemeral=True)

    @app_commands.command(name="status", description="Round status")
    @app_commands.choices(
        detail=[
            app_commands.Choice(name="Short", value="short"),
            app_commands.Choice(name="Long", value="long"),
        ]
    )
    async def status(self, interaction: discord.Interaction, detail: app_commands.Choice[str]) -> None:
        await interaction.response.send_message(f"status {detail.value}")

    @admin.command(name="reset", description="Reset a round")
    async def reset(self, interaction: discord.Interaction, confirm: bool) -> None:
        self.bot.record("reset", confirm)
        await interaction.response.send_message(f"reset {confirm}", ephemeral=True)
