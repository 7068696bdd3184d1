"""Scheduled work that outlives a database outage: the one way Tandem adds a job to APScheduler.

A job that fails because the database is briefly locked or unreachable (`bot.db.is_transient`) is
tried again on the same scheduler after `RETRY_DELAYS` (30 s, 1, 2, 5, 10 minutes, then every 10
minutes until it succeeds), instead of waiting for the next restart. Every job Tandem schedules is
safe to run again: topic posts, check-ins, nudges and alerts are claimed by unique rows before
anything is sent, launches and closings skip what is recorded as done, deletions and pause ends
look at what is left. Any other error is a bug: it is logged with its traceback and not retried.

The retry is a one-off job of its own, `tandem:retry:<job id>`: a job rescheduled in the meantime
(a topic moved, a sweep's interval changed) keeps its id and does not cancel the pending retry,
and at most one retry per job is pending at a time. Like every job, it runs on the scheduler's
real time; tests fire it by hand (`scheduler.get_job(retry_job_id(...))`) instead of waiting.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger

from bot.db import describe_transient, is_transient
from bot.durations import format_duration

log = logging.getLogger(__name__)

# After the n-th failure in a row, the next try comes RETRY_DELAYS[n - 1] later (the last one repeats).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
)

Work = Callable[..., Awaitable[Any]]


def retry_delay(failures: int) -> timedelta:
    """How long to wait after `failures` failures in a row (1 or more)."""
    return RETRY_DELAYS[min(max(failures, 1), len(RETRY_DELAYS)) - 1]


def retry_job_id(job_id: str) -> str:
    return f"tandem:retry:{job_id}"


class RetryingJob:
    """What the scheduler runs: the work, and on a transient database failure a retry, later."""

    def __init__(self, scheduler: BaseScheduler, job_id: str, what: str, work: Work) -> None:
        self.scheduler = scheduler
        self.job_id = job_id
        self.what = what
        self.work = work
        self.failures = 0

    async def __call__(self, *args: Any) -> None:
        try:
            await self.work(*args)
        except Exception as error:
            if not is_transient(error):
                log.exception("%s failed", _capital(self.what))
                return
            self.failures += 1
            delay = self.retry_later(args)
            log.warning(
                "%s: the database is unavailable (%s); trying again in %s (failure %d)",
                _capital(self.what),
                describe_transient(error),
                format_duration(delay),
                self.failures,
            )
            return
        if self.failures:
            log.info("%s succeeded after %d failed attempt(s)", _capital(self.what), self.failures)
            self.failures = 0
        with contextlib.suppress(JobLookupError):  # a retry still pending has nothing left to do
            self.scheduler.remove_job(retry_job_id(self.job_id))

    def retry_later(self, args: Sequence[Any]) -> timedelta:
        """Schedule the next try, after the delay that fits the failures so far; returns it."""
        delay = retry_delay(self.failures)
        self.scheduler.add_job(
            self,
            DateTrigger(run_date=datetime.now(UTC) + delay, timezone=UTC),
            args=list(args),
            id=retry_job_id(self.job_id),
            name=f"retry: {self.what}",
            replace_existing=True,
            misfire_grace_time=None,  # however late: the work is idempotent
            coalesce=True,
        )
        return delay


def add_job(
    scheduler: BaseScheduler,
    work: Work,
    trigger: BaseTrigger,
    *,
    job_id: str,
    what: str,
    args: Sequence[Any] = (),
    **options: Any,
) -> Job:
    """`scheduler.add_job` with a stable id (replacing any job with that id), where a transient
    database failure is retried with backoff; `what` names the work in log lines."""
    options.setdefault("name", what)
    return scheduler.add_job(
        RetryingJob(scheduler, job_id, what, work),
        trigger,
        args=list(args),
        id=job_id,
        replace_existing=True,
        **options,
    )


async def run_now(
    scheduler: BaseScheduler, work: Work, *, job_id: str, what: str, args: Sequence[Any] = ()
) -> None:
    """Run `work(*args)` now, outside the schedule (a listener, a start-up step, a command's
    background work); if the database fails transiently it is tried again later like a job."""
    await RetryingJob(scheduler, job_id, what, work)(*args)


def retry_later(
    scheduler: BaseScheduler, work: Work, *, job_id: str, what: str, args: Sequence[Any] = ()
) -> timedelta:
    """`work(*args)` just failed on a transient database error elsewhere: try it again later, with
    the same backoff as a job. Returns the delay until the first try."""
    job = RetryingJob(scheduler, job_id, what, work)
    job.failures = 1
    return job.retry_later(args)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
