"""The Bot: wiring of configuration, database, scheduler and cogs. Nothing connects at import."""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot import jobs
from bot.background import BackgroundTasks
from bot.checkins import FeedbackService
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db import Database
from bot.engagement import EngagementService, topic_posts_lookup
from bot.interactions import TandemTree
from bot.notify import alert_coordinators
from bot.participants import ParticipantService
from bot.programmes import ProgrammeService
from bot.rounds import RoundService
from bot.spaces import DiscordSpaces
from bot.topic_posts import TopicPostService

log = logging.getLogger(__name__)

# How long closing waits for event handlers that are already running.
EVENT_HANDLERS_GRACE_SECONDS = 5.0


def tandem_intents() -> discord.Intents:
    """The minimum the programme needs; see README for why each one is on."""
    intents = discord.Intents.none()
    intents.guilds = True  # guilds, channels, threads and roles
    intents.members = True  # privileged: joins and leaves, and members' roles for the coordinator check
    intents.guild_messages = True  # activity in partner spaces (who wrote when; never the content)
    return intents


def discover_extensions(package: str = "cogs") -> list[str]:
    """Every module in `cogs/` is a cog; names starting with `_` are helpers, not extensions."""
    module = importlib.import_module(package)
    names = sorted(info.name for info in pkgutil.iter_modules(module.__path__))
    return [f"{package}.{name}" for name in names if not name.startswith("_")]


class TandemBot(commands.Bot):
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        clock: Clock | None = None,
        scheduler: AsyncIOScheduler | None = None,
        sync_commands: bool = False,
        extensions: Sequence[str] | None = None,
        **client_options: Any,
    ) -> None:
        if not settings.shard.single:  # else discord.py connects as the one shard of one
            client_options.setdefault("shard_id", settings.shard.shard_id)
            client_options.setdefault("shard_count", settings.shard.shard_count)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=tandem_intents(),
            tree_cls=TandemTree,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, replied_user=False),
            **client_options,
        )
        self.settings = settings
        self.database = database
        self.clock: Clock = clock or SystemClock()
        self.scheduler = scheduler or AsyncIOScheduler(timezone=UTC)
        self.sync_commands = sync_commands
        self.extension_names = list(extensions) if extensions is not None else discover_extensions()
        self.programmes = ProgrammeService(database, self.clock)
        self.participants = ParticipantService(database, self.clock)
        self.rounds = RoundService(
            database,
            self.clock,
            self.participants,
            self.programmes,
            spaces=DiscordSpaces(self),
            alert=self.alert,
            topics_dir=settings.prompts_dir / "topics",
            shard=settings.shard,
        )
        self.topic_posts = TopicPostService(
            database,
            self.clock,
            topics_dir=settings.prompts_dir / "topics",
            spaces=self.rounds.spaces,  # type: ignore[arg-type]
            scheduler=self.scheduler,
            alert=self.alert,
            space_deleted=self.rounds.space_deleted,
            shard=settings.shard,
        )
        self.rounds.topics = self.topic_posts
        self.engagement = EngagementService(
            database,
            self.clock,
            self.rounds,
            self.programmes,
            topics_dir=settings.prompts_dir / "topics",
            topic_lookup=topic_posts_lookup(self.topic_posts),
        )  # its Discord outlet is set by cogs/engagement.py
        # Check-ins, the survey, keep-in-touch choices and /report; its outlet is set by cogs/feedback.py.
        self.feedback = FeedbackService(
            database, self.clock, self.participants, self.scheduler, shard=settings.shard
        )
        self.rounds.feedback = self.feedback
        self.topic_rebuild: asyncio.Task[None] | None = None

    async def alert(self, guild_id: int, content: str) -> bool:
        """Tell the coordinators, in the programme's alerts channel."""
        return await alert_coordinators(self, guild_id, content)

    async def setup_hook(self) -> None:
        await self.database.open()
        await self.database.upgrade()
        if not self.scheduler.running:
            self.scheduler.start()
        self.topic_posts.load_library()  # logs each malformed topic file with its path and problem
        self.topic_rebuild = asyncio.create_task(self._rebuild_topic_schedule())
        for name in self.extension_names:
            await self.load_extension(name)
        self._register_persistent_views()
        if self.sync_commands:
            await self.sync_app_commands()

    async def _rebuild_topic_schedule(self) -> None:
        """Once connected: post the topics that fell due while the bot was down, schedule the rest.
        A database that is briefly unavailable here is tried again later (bot/jobs.py)."""
        await self.wait_until_ready()
        await jobs.run_now(
            self.scheduler,
            self._rebuild_topics,
            job_id="tandem:rebuild:topics",
            what="rebuilding the topic schedule",
        )
        await jobs.run_now(
            self.scheduler,
            self._rebuild_feedback,
            job_id="tandem:rebuild:feedback",
            what="rebuilding the check-in and survey schedule",
        )

    async def _rebuild_topics(self) -> None:
        scheduled = await self.topic_posts.rebuild()
        log.info("Topic schedule rebuilt from the database: %d future release(s)", scheduled)

    async def _rebuild_feedback(self) -> None:
        scheduled = await self.feedback.rebuild()
        log.info("Check-in and survey schedule rebuilt: %d future job(s)", scheduled)

    def _register_persistent_views(self) -> None:
        """Cogs expose `persistent_views()` and `dynamic_items()`, so buttons survive restarts."""
        for cog in self.cogs.values():
            views: Iterable[discord.ui.View] = getattr(cog, "persistent_views", lambda: ())()
            for view in views:
                self.add_view(view)
            items: Iterable[type[discord.ui.DynamicItem]] = getattr(cog, "dynamic_items", lambda: ())()
            self.add_dynamic_items(*items)

    async def sync_app_commands(self) -> list[discord.app_commands.AppCommand]:
        """Publish the slash commands: to the development guild when DEV_GUILD_ID is set, else globally."""
        if self.settings.dev_guild_id is not None:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %s", len(synced), guild.id)
        else:
            synced = await self.tree.sync()
            log.info("Synced %d global commands (Discord may take a while to show them)", len(synced))
        return synced

    async def on_ready(self) -> None:
        log.info("Connected as %s to %d guild(s)", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        # Tandem has slash commands only; message events feed activity listeners in the cogs.
        return

    async def close(self) -> None:
        if self.topic_rebuild is not None and not self.topic_rebuild.done():
            self.topic_rebuild.cancel()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        # Work the cogs started (a launch, a fan-out) stops here; all of it resumes after a restart.
        for cog in list(self.cogs.values()):
            tasks = getattr(cog, "tasks", None)
            if isinstance(tasks, BackgroundTasks):
                await tasks.cancel_all()
        await super().close()
        await self._let_event_handlers_finish()
        await self.database.close()

    async def _let_event_handlers_finish(self) -> None:
        """Wait (briefly) for event handlers already running, such as on_ready's resumption of an
        unfinished launch, so none of them meets a closed database."""
        current = asyncio.current_task()
        running = [
            task
            for task in asyncio.all_tasks()
            if task is not current and not task.done() and task.get_name().startswith("discord.py: ")
        ]
        if running:
            await asyncio.wait(running, timeout=EVENT_HANDLERS_GRACE_SECONDS)
