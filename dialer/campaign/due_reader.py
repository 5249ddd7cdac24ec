"""Reading the released cases in a worker thread, for the ticks to come (the shell around
``selection.read_due``).

The campaign's events (answers to put through within 2 s) and its ticks run one at a time on
one consumer. A tick that read 30,000 released cases itself held them up 0.6-0.8 s every
5 s. Now a tick starts a read, and a later one takes it once it has landed; the consumer
waits for none. A read that the store has moved past (a release drew numbers since it
began) is dropped, never taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path

import structlog

from dialer.campaign.selection import READ_EVERY, DueRead, read_due
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import CallingWindow
from dialer.store.attempts import read_dialable_cases

log = structlog.get_logger(__name__)


def read_in_thread(
    store: Path,
    wave_id: int,
    now: datetime,
    policy: RetryPolicy,
    window: CallingWindow,
    fill: Sequence[float],
    busy: Collection[int],
) -> DueRead:
    """``read_due`` over the store's dialable cases, read on a connection of its own."""
    return read_due(read_dialable_cases(store, wave_id), now, policy, window, fill, busy)


class DueReader:
    """At most one read under way; the cases dialled or withdrawn meanwhile are taken in it
    as it lands (its snapshot may predate them)."""

    def __init__(
        self,
        store: Path,
        wave_id: int,
        policy: RetryPolicy,
        window: CallingWindow,
        clock: Callable[[], datetime],
    ) -> None:
        self.store, self.wave_id, self.policy, self.window = store, wave_id, policy, window
        self.clock = clock
        self._task: asyncio.Task[tuple[DueRead, datetime]] | None = None
        self._changed: set[int] = set()

    @property
    def reading(self) -> bool:
        return self._task is not None

    def start(self, now: datetime, fill: Sequence[float], busy: Collection[int]) -> None:
        """Start a read as of ``now`` unless one is under way. ``fill`` and ``busy`` as
        ``read_due`` takes them (copied: the campaign goes on changing its own)."""
        if self._task is not None:
            return
        self._changed = set()
        self._task = asyncio.create_task(self._read(now, list(fill), frozenset(busy)))

    async def _read(
        self, now: datetime, fill: list[float], busy: frozenset[int]
    ) -> tuple[DueRead, datetime]:
        """The read, and when it landed."""
        read = await asyncio.to_thread(
            read_in_thread, self.store, self.wave_id, now, self.policy, self.window, fill, busy
        )
        return read, self.clock()

    def changed(self, case_id: int) -> None:
        """A case dialled (or withdrawn) now: what a read under way says of it is out of
        date."""
        if self._task is not None:
            self._changed.add(case_id)

    def landed(self, now: datetime) -> DueRead | None:
        """The read under way if it has landed (then no longer under way), its age counted
        from its landing: however long it took, it serves ``READ_EVERY`` from then. One
        that landed ``READ_EVERY`` or more before ``now`` (during a pause, overnight) is
        dropped, as is one begun after ``now`` (the clock stepped back). Its errors are
        raised here, to the tick that takes it."""
        task = self._task
        if task is None or not task.done():
            return None
        self._task = None
        read, landed_at = task.result()
        if now - landed_at >= READ_EVERY or now < read.at:
            log.info("released cases' read dropped: taken too late", read_at=read.at,
                     landed_at=landed_at, now=now)  # fmt: skip
            return None
        read.at = landed_at
        read.taken.update(self._changed)
        return read

    def drop(self) -> None:
        """Forget the read under way: it began before a change it cannot know of (a
        release). Its thread runs on; its result is never taken."""
        if self._task is not None:
            self._task.add_done_callback(_retrieve)
            self._task = None


def _retrieve(task: asyncio.Task[tuple[DueRead, datetime]]) -> None:
    """Take a dropped read's outcome, so that its error (if any) is not reported unread."""
    if not task.cancelled():
        task.exception()
