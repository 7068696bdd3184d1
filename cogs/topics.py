"""/topic: the round's discussion topics (coordinators). Thin: parse, check, call bot.topic_posts, reply.

Posting a topic to every space now (`/topic post`) can take a while in a large round: it runs in a
task owned by this cog and edits one progress message, like a launch.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import jobs
from bot.app import TandemBot
from bot.background import BackgroundTasks
from bot.db import describe_transient, is_transient
from bot.errors import UserFacingError, new_error_id
from bot.interactions import CoordinatorGroup, TandemModal, reply_privately
from bot.intro import SpaceMessage
from bot.topics.library import MAX_BODY, MAX_TITLE
from cogs.rounds import ProgressMessage

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
MODAL_BODY_LIMIT = min(MAX_BODY, 4000)  # a text input holds at most 4,000 characters


def topic_embed(message: SpaceMessage) -> discord.Embed:
    """The embed a space receives, for previews."""
    embed = discord.Embed(
        title=message.title or None, description=message.description or None, colour=discord.Colour.teal()
    )
    if message.footer:
        embed.set_footer(text=message.footer)
    return embed


class TopicGroup(CoordinatorGroup):
    pass


class AddTopicModal(TandemModal, title="Add a topic to the round"):
    topic_title: discord.ui.TextInput[AddTopicModal] = discord.ui.TextInput(
        label="Title",
        max_length=MAX_TITLE,
        placeholder="Working with volunteers",
        custom_id="tandem:topic:title",
    )
    body: discord.ui.TextInput[AddTopicModal] = discord.ui.TextInput(
        label="Text (Markdown: **bold**, numbered questions)",
        style=discord.TextStyle.paragraph,
        max_length=MODAL_BODY_LIMIT,
        placeholder="A short introduction, then a few questions:\n1. …?\n2. …?",
        custom_id="tandem:topic:body",
    )
    position: discord.ui.TextInput[AddTopicModal] = discord.ui.TextInput(
        label="Position in the list (empty: at the end)",
        required=False,
        max_length=4,
        custom_id="tandem:topic:position",
    )

    def __init__(self, cog: Topics) -> None:
        super().__init__(custom_id="tandem:topic:add")
        self.cog = cog

    async def on_submit(self, interaction: discord.Interaction) -> None:
        raw = self.position.value.strip()
        if raw and not raw.isdigit():
            raise UserFacingError(f"“{raw}” is not a position: write a number like 3, or leave it empty.")
        number = await self.cog.bot.topic_posts.add_topic(
            interaction.guild_id or 0, self.topic_title.value, self.body.value, int(raw) if raw else None
        )
        await reply_privately(
            interaction,
            f"Added “{' '.join(self.topic_title.value.split())}” as topic {number}. /topic list shows the "
            "schedule; /topic preview shows it as the spaces will see it.",
        )
        self.cog.refresh(interaction.guild_id or 0)


class Topics(commands.Cog):
    topic = TopicGroup(name="topic", description="The round's discussion topics and when they come out")

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot
        self.tasks = BackgroundTasks()

    async def cog_unload(self) -> None:
        await self.tasks.cancel_all()

    def refresh(self, guild_id: int) -> None:
        """After a change to the list or the settings: reschedule (and post what became due); if
        the database is away, later (bot/jobs.py), or the old schedule would stay."""
        self.tasks.start(
            jobs.run_now(
                self.bot.scheduler,
                self._refresh,
                job_id=f"tandem:topics:{guild_id}:refresh",
                what=f"rescheduling the topics of guild {guild_id}",
                args=[guild_id],
            )
        )

    async def _refresh(self, guild_id: int) -> None:
        for round_id in await self.bot.topic_posts.launched_rounds(guild_id):
            try:
                await self.bot.topic_posts.after_launch(round_id)
            except Exception as error:
                if is_transient(error):
                    raise
                log.exception("Rescheduling the topics of round %s failed", round_id)

    @topic.command(name="list", description="The round's topics and when each comes out")
    async def list_(self, interaction: discord.Interaction) -> None:
        schedule = await self.bot.topic_posts.schedule(interaction.guild_id or 0)
        text = "\n".join(schedule.lines())
        if len(text) > 2000:
            text = text[:1990].rsplit("\n", 1)[0] + "\n…"
        await reply_privately(interaction, text)

    @topic.command(name="preview", description="Show a topic as the spaces will see it")
    @app_commands.describe(
        number="The topic's number in /topic list", language="A translation to show, like es (optional)"
    )
    async def preview(
        self,
        interaction: discord.Interaction,
        number: app_commands.Range[int, 1, 500],
        language: app_commands.Range[str, 2, 8] | None = None,
    ) -> None:
        message = await self.bot.topic_posts.preview(
            interaction.guild_id or 0, number, language.lower() if language else None
        )
        await reply_privately(
            interaction, f"Topic {number} as partners will see it:", embed=topic_embed(message)
        )

    @topic.command(name="post", description="Post a topic now to every space of the round")
    @app_commands.describe(number="The topic's number in /topic list")
    async def post(self, interaction: discord.Interaction, number: app_commands.Range[int, 1, 500]) -> None:
        guild_id = interaction.guild_id or 0
        await self.bot.topic_posts.preview(guild_id, number)  # checks the number before deferring
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.tasks.start(self._post(interaction, guild_id, number))

    async def _post(self, interaction: discord.Interaction, guild_id: int, number: int) -> None:
        progress = ProgressMessage(self.bot, interaction, f"Posting topic {number}")
        try:
            report = await self.bot.topic_posts.post_topic_now(guild_id, number, progress.update)
        except UserFacingError as error:
            await progress.finish(error.message)
            return
        except Exception as error:
            if is_transient(error):
                log.warning(
                    "Posting topic %s stopped: the database is unavailable (%s)",
                    number,
                    describe_transient(error),
                )
                await progress.finish(
                    f"Posting topic {number} stopped: Tandem can't reach its database just now. The "
                    "spaces that got it keep it; run /topic post again in a minute for the rest "
                    "(nothing is posted twice)."
                )
                return
            error_id = new_error_id()
            log.exception("Posting topic %s failed (error id %s)", number, error_id)
            await progress.finish(f"Posting stopped on an unexpected error (id `{error_id}`).")
            return
        finally:
            progress.stop()
        lines = report.lines()
        if not report.posted and not report.failures:
            lines.append("Every space had this topic already; nothing was posted twice.")
        await progress.finish("\n".join(lines))

    @topic.command(name="add", description="Add the round's own topic (a form)")
    async def add(self, interaction: discord.Interaction) -> None:
        await self.bot.topic_posts.schedule(interaction.guild_id or 0)  # there must be a round
        await interaction.response.send_modal(AddTopicModal(self))

    @topic.command(name="move", description="Move a topic to another place in the list")
    @app_commands.describe(number="The topic's number in /topic list", to="Its new number")
    async def move(
        self,
        interaction: discord.Interaction,
        number: app_commands.Range[int, 1, 500],
        to: app_commands.Range[int, 1, 500],
    ) -> None:
        await self.bot.topic_posts.move_topic(interaction.guild_id or 0, number, to)
        await reply_privately(
            interaction, f"Topic {number} is now topic {to}. /topic list shows the schedule."
        )
        self.refresh(interaction.guild_id or 0)

    @topic.command(name="skip", description="Leave a topic out of this round")
    @app_commands.describe(number="The topic's number in /topic list")
    async def skip(self, interaction: discord.Interaction, number: app_commands.Range[int, 1, 500]) -> None:
        title = await self.bot.topic_posts.skip_topic(interaction.guild_id or 0, number)
        await reply_privately(
            interaction, f"“{title}” is skipped; the topics after it move up. /topic unskip brings it back."
        )
        self.refresh(interaction.guild_id or 0)

    @topic.command(name="unskip", description="Bring back a skipped topic")
    @app_commands.describe(number="Its number among the skipped topics in /topic list")
    async def unskip(self, interaction: discord.Interaction, number: app_commands.Range[int, 1, 500]) -> None:
        title = await self.bot.topic_posts.unskip_topic(interaction.guild_id or 0, number)
        await reply_privately(interaction, f"“{title}” is back in the list. /topic list shows where.")
        self.refresh(interaction.guild_id or 0)

    @topic.command(name="settings", description="When topics are posted, and discussion threads")
    @app_commands.describe(
        posting_hour="The hour (0-23, programme time zone) topics come out; 9 by default",
        discussion_threads="Also open a thread per topic where everyone in the round can talk",
        discussion_channel="The channel those threads open in",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        posting_hour: app_commands.Range[int, 0, 23] | None = None,
        discussion_threads: bool | None = None,
        discussion_channel: discord.TextChannel | None = None,
    ) -> None:
        guild_id = interaction.guild_id or 0
        settings = await self.bot.topic_posts.update_settings(
            guild_id,
            posting_hour=posting_hour,
            threads=discussion_threads,
            threads_channel_id=discussion_channel.id if discussion_channel else None,
        )
        programme = await self.bot.programmes.get(guild_id)
        threads = (
            f"each topic opens a discussion thread in <#{settings.threads_channel_id}>"
            if settings.threads and settings.threads_channel_id
            else "no discussion threads"
        )
        await reply_privately(
            interaction,
            f"Topics come out at {settings.posting_hour:02d}:00 ({programme.timezone}); {threads}.",
        )
        if posting_hour is not None:
            self.refresh(guild_id)


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Topics(bot))
