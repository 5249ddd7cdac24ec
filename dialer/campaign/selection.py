"""Which released cases are due now, in priority order (pure).

Callbacks due first, then retries due, then fresh numbers from the cells furthest behind.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from dialer.disposition import Disposition
from dialer.schedule.retry import AttemptRecord, RetryPolicy, next_call
from dialer.schedule.window import CallingWindow


@dataclass(frozen=True, slots=True)
class CaseView:
    """A released case as the dialer schedules it."""

    case_id: int
    phone: str
    cell: int
    attributes: Mapping[str, str]
    history: tuple[AttemptRecord, ...]


@dataclass(frozen=True, slots=True)
class Due:
    """A case due now, and why."""

    case: CaseView
    rank: tuple[int, float, int]


READ_EVERY = timedelta(seconds=5)
"""How long the released cases read for one tick serve the next ones, from the read's
landing (``due_reader``): reading them and working out which are due takes 40 ms for 3,000
released, 180-200 ms for 10,000, 0.6 s for 30,000; ticks come four times a second.
Retries and callbacks come due within this of their time."""
REREAD_EMPTY = timedelta(seconds=1)
"""With none of the read's due cases left, how old a read may be before it is read again
(a retry may have come due meanwhile; and the campaign's end and idle releases go by it)."""
OLDEST_SERVED = 2 * READ_EVERY
"""The oldest a read may be and still offer its due cases while the next is under way:
after a pause the first ticks wait for a new read (callbacks that came due meanwhile go
first), rather than dial from a list of long ago."""
READ_AHEAD = timedelta(seconds=1)
"""How long before the read in use grows old (``READ_EVERY``) the next one starts: a large
release's read (in a worker thread: ``due_reader``) lands before the old one stops serving."""


@dataclass(slots=True)
class DueRead:
    """The released cases as one tick read them, for the ticks after it (``READ_EVERY``).

    A case dialled (or withdrawn) since the read is left out until the next read: its
    history as read no longer says when it is due."""

    at: datetime
    due: list[CaseView]
    """Due at the read, in priority order."""
    left: list[CaseView]
    """Every case read but the exhausted ones."""
    exhausted: list[CaseView]
    soonest: datetime | None
    busy: frozenset[int] = frozenset()
    """Cases on a call or in an interview at the read (left out of it)."""
    taken: set[int] = field(default_factory=set)

    def fresh(self, now: datetime) -> bool:
        """Whether the read still serves at ``now`` (not when the clock stepped back)."""
        return timedelta(0) <= now - self.at < READ_EVERY

    def complete(self, busy: Collection[int]) -> bool:
        """Whether ``soonest`` and ``exhausted`` still hold: every case whose history may
        have changed since the read (busy then, or taken since) is still busy. A call that
        ended since may need a retry the read does not know of."""
        return all(i in busy for i in self.busy) and all(i in busy for i in self.taken)

    def remaining(self, busy: Collection[int]) -> list[CaseView]:
        """The read's due cases not taken since, nor on a call or in an interview now."""
        taken = self.taken
        return [c for c in self.due if c.case_id not in taken and c.case_id not in busy]

    def take(
        self, chosen: Sequence[CaseView], now: datetime, policy: RetryPolicy, window: CallingWindow
    ) -> list[CaseView]:
        """Take ``chosen`` out of the read: those still due at ``now``, to dial. A case due
        at the read may not be now: a no-answer is retried in a part of the day not tried
        yet, and the read may have seen the end of one."""
        self.taken.update(c.case_id for c in chosen)
        return [c for c in chosen if _due_at(c, now, policy, window)]


def _due_at(case: CaseView, now: datetime, policy: RetryPolicy, window: CallingWindow) -> bool:
    when = next_call(case.history, now, policy, window)
    return when is not None and when <= now


class Offer(NamedTuple):
    """What the read in use offers a tick (``offer``)."""

    cases: list[CaseView]
    """Its due cases not taken since, nor busy now (each is checked again as it is taken)."""
    settled: bool
    """Whether the read knows every case's next call: a campaign going idle may release
    more sample or finish by it."""
    read_next: bool
    """Whether the tick is to start the next read."""


def offer(read: DueRead | None, now: datetime, busy: Collection[int], idle: bool) -> Offer:
    """What ``read`` offers at ``now``. It is settled while it is fresh and has due cases
    left, or has none left for less than a second (a retry may have come due) and, when the
    campaign is going ``idle`` (no calls and no interviews), knows every case's next call.
    Otherwise the next read is to start; meanwhile its due cases left still serve (a large
    release's read takes a second) up to ``OLDEST_SERVED``, but no decision to release or
    finish goes by it. The next read also starts ``READ_AHEAD`` before this one grows old."""
    if read is None:
        return Offer([], False, True)
    due = read.remaining(busy)
    if not read.fresh(now):
        return Offer(due if now - read.at < OLDEST_SERVED else [], False, True)
    if not due and (now - read.at >= REREAD_EMPTY or (idle and not read.complete(busy))):
        return Offer(due, False, True)
    return Offer(due, True, not read.fresh(now + READ_AHEAD))


def read_due(
    cases: Sequence[CaseView],
    now: datetime,
    policy: RetryPolicy,
    window: CallingWindow,
    fill: Sequence[float],
    busy: Collection[int] = frozenset(),
) -> DueRead:
    """The cases due now in priority order, the cases never to be called again and the next
    due time, kept for the ticks to come.

    ``fill`` is each cell's completes over target: fresh numbers from emptier cells go first.
    Cases in ``busy`` (on a call, or in an interview awaiting its disposition) are none of
    these: an operator still holds them, and their last attempt has no disposition yet.
    """
    due: list[Due] = []
    exhausted: list[CaseView] = []
    soonest: datetime | None = None
    for case in cases:
        if case.case_id in busy:
            continue
        when = next_call(case.history, now, policy, window)
        if when is None:
            exhausted.append(case)
        elif when <= now:
            due.append(Due(case, _rank(case, fill)))
        elif soonest is None or when < soonest:
            soonest = when
    due.sort(key=lambda d: d.rank)
    done = {c.case_id for c in exhausted}
    left = [c for c in cases if c.case_id not in done] if done else list(cases)
    return DueRead(now, [d.case for d in due], left, exhausted, soonest, frozenset(busy))


def in_closed_cells(
    due: Sequence[CaseView], closed_at: Sequence[str | None]
) -> tuple[list[CaseView], list[CaseView]]:
    """(cases due in open cells, cases due in closed ones). A case can be released in a
    closed cell when its call was under way as the cell closed and ended by another path
    than the ones that withdraw it (a crash's recovery, an interview given back): it is
    never dialled there, and as long as it was due no new sample was released for the cells
    still open (a restarted campaign waited for ever on its last complete)."""
    open_: list[CaseView] = []
    closed: list[CaseView] = []
    for case in due:
        barred = case.cell < len(closed_at) and closed_at[case.cell] is not None
        (closed if barred else open_).append(case)
    return open_, closed


def is_callback(case: CaseView) -> bool:
    """Whether the case is due for a callback its respondent asked for (an appointment)."""
    return bool(case.history) and case.history[-1].disposition is Disposition.CALLBACK


def _rank(case: CaseView, fill: Sequence[float]) -> tuple[int, float, int]:
    if is_callback(case):
        kind = 0
    elif case.history:
        kind = 1
    else:
        kind = 2
    return kind, fill[case.cell] if case.cell < len(fill) else 1.0, scrambled(case.case_id)


def scrambled(case_id: int) -> int:
    """A case's place among its equals: its id mixed (SplitMix64's finaliser, one to one
    on 64-bit ints), so the same release is dialled in the same order, but not the frame's.
    A frame import stores each file's numbers in number order, and dialling a block of
    numbers one after another, or at a fixed stride (Knuth's multiplicative hash gave +89
    for 111 of 200 consecutive ids), is what network operators' call analytics count as a
    robocaller's pattern."""
    z = (case_id + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


_MASK64 = (1 << 64) - 1


def held_back(
    cases: Sequence[CaseView],
    now: datetime,
    until: datetime,
    policy: RetryPolicy,
    window: CallingWindow,
    cells: int,
) -> list[int]:
    """Per cell, the cases next callable (from ``now``) only after ``until``: quiet after an
    abandoned call, a callback or a retry later than that."""
    counts = [0] * cells
    for case in cases:
        when = next_call(case.history, now, policy, window)
        if when is not None and when > until:
            counts[case.cell] += 1
    return counts
