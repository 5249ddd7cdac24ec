"""Rolling statistics of recent calls, as pacers learn from them (pure; fed by the caller).

Ring times of finished dials (answered by a person or not), talk and wrap-up durations, and
the live answers of the regulatory window with whether each was abandoned. With answering-
machine detection, each machine verdict also counts in the window as the estimated share of a
person hung up on (Ofcom counts detection's false positives as abandons): that share of a live
answer, abandoned.
"""

from __future__ import annotations

import array
import math
from collections import deque
from collections.abc import Callable, Hashable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

Floats = NDArray[np.float64]


class CallStats:
    """Recent history, bounded; every query is a pure function of what was recorded."""

    def __init__(
        self, window_s: float = 3600.0, keep: int = 1000, machine_people: float = 0.0
    ) -> None:
        self.window_s = window_s
        self.machine_people = machine_people
        """The estimated share of machine verdicts that were people (0: none counted)."""
        self._ring = _Ring(keep)  # ring seconds of finished dials
        self._answered = _Ring(keep)  # 1.0 where a person answered
        self._talk = _Ring(keep // 2)
        self._wrap = _Ring(keep // 2)
        self._rings = {"dials": self._ring, "talk": self._talk, "wrap": self._wrap}
        # live answers of the window: times, and running counts of live answers and of
        # abandons up to and including each (a machine verdict adds its share to both), in
        # growable buffers holding ``_first`` to ``_end``
        self._times = np.zeros(1024)
        self._dropped = np.zeros(1024)
        self._counted = np.zeros(1024)
        self._first = self._end = 0
        self._dropped_before = 0.0  # abandons before the buffers' first slot
        self._counted_before = 0.0  # live answers before it
        self._counted_total = 0.0
        self._dropped_total = 0.0  # abandons, machine verdicts' shares included
        # machine verdicts by the minute: [minute, verdicts, people counted] (31 days of
        # verdicts in at most 44,640 entries), with running sums over those kept
        self._machines: deque[list[float]] = deque()
        self._machines_kept = [0.0, 0.0]
        self._minute: deque[tuple[float, bool]] = deque()  # live answers of the last 60 s
        self.first_answer: float | None = None
        self.dials_total = 0
        self.answered_dials_total = 0  # dials a person answered (abandoned ones included)
        self.talks_total = 0
        self.answers_total = 0
        self.abandons_total = 0
        self.machine_verdicts_total = 0
        self._cache: dict[Hashable, tuple[int, float, Floats]] = {}
        self._now = 0.0  # the latest time a query or an answer gave
        # running counts over the deques, so no query walks them
        self._minute_dropped = 0

    # --- recording ------------------------------------------------------------------------

    def dial_ended(self, ring_s: float, answered: bool) -> None:
        """A dial resolved after ``ring_s``: a person answered, or it ended unanswered
        (busy, no answer, machine, failure)."""
        self._ring.append(ring_s)
        self._answered.append(1.0 if answered else 0.0)
        self.dials_total += 1
        self.answered_dials_total += answered

    def unanswered(self, rings: list[float]) -> None:
        """Dials ended unanswered after ``rings`` s: ``dial_ended`` for each, in one call."""
        self._ring.extend(rings)
        self._answered.extend([0.0] * len(rings))
        self.dials_total += len(rings)

    def live_answer(self, now: float, abandoned: bool) -> None:
        """A person answered; ``abandoned`` when no seat took the call in time. Times only
        go forward here (a clock stepped back is held at the latest time seen): the window's
        counts bisect them."""
        now = max(now, self._now)
        self.answers_total += 1
        self.abandons_total += abandoned
        self._minute.append((now, abandoned))
        self._minute_dropped += abandoned
        self._dropped_total += abandoned
        self._count(now, 1.0)

    def retract_answer(self, at: float) -> None:
        """The live answer recorded at ``at`` was a machine (the operator said so): out of
        the window (from the first answer recorded at or after ``at``) and the totals. The
        rule counts calls a person answered."""
        self.answers_total -= 1
        first, end = self._first, self._end
        if end == first or at < self._times[first]:
            return  # it has left the window already
        index = first + int(self._times[first:end].searchsorted(at))
        if index < end:
            self._counted[index:end] -= 1.0
            self._counted_total -= 1.0

    def machine_verdict(self, now: float, people: float | None = None) -> None:
        """Answering-machine detection judged a call a machine and hung up: in the window,
        ``people`` (by default ``machine_people``; a recalled verdict's own) of a live
        answer, abandoned (not in the totals, nor in the last minute's counts, which count
        the calls put through or abandoned at a seat)."""
        now = max(now, self._now)
        share = self.machine_people if people is None else people
        self.machine_verdicts_total += 1
        self._add_machine(now, share)
        if share > 0.0:
            self._dropped_total += share
            self._count(now, share)

    def _count(self, now: float, share: float) -> None:
        """A live answer (``share`` of one) in the window, with the abandons so far (its own
        counted in ``_dropped_total`` already)."""
        if self.first_answer is None:
            self.first_answer = now
        if self._end == len(self._times):
            self._make_room()
        self._counted_total += share
        end = self._end
        self._times[end] = now
        self._dropped[end] = self._dropped_total - self._dropped_before
        self._counted[end] = self._counted_total - self._counted_before
        self._end = end + 1
        self._prune(now)

    def talk_ended(self, seconds: float) -> None:
        self._talk.append(seconds)
        self.talks_total += 1

    def wrap_ended(self, seconds: float) -> None:
        self._wrap.append(seconds)

    def _prune(self, now: float) -> None:
        self._now = max(self._now, now)
        # Answers leave the window in the order they came, one or two at a time: step past
        # them (a bisection read a numpy element at each of its steps, at twice the cost).
        times, first, end, oldest = self._times, self._first, self._end, now - self.window_s
        while first < end and times[first] < oldest:
            first += 1
        self._first = first
        while self._minute and self._minute[0][0] < now - 60.0:
            self._minute_dropped -= self._minute.popleft()[1]

    # --- queries ----------------------------------------------------------------------------

    @property
    def dropped_total(self) -> float:
        """Abandons ever recorded, machine verdicts' estimated people included."""
        return self._dropped_total

    @property
    def finished_dials(self) -> int:
        return len(self._ring)

    @property
    def talks(self) -> int:
        return len(self._talk)

    @property
    def wraps(self) -> int:
        return len(self._wrap)

    def window(self, now: float) -> tuple[float, float]:
        """(abandoned, live answers) over the regulatory window ending ``now``: whole
        numbers, bar the shares machine verdicts add."""
        self._prune(now)
        first, end = self._first, self._end
        if end == first:
            return 0.0, 0.0
        dropped, counted = self._dropped, self._counted
        before = (float(dropped[first - 1]), float(counted[first - 1])) if first else (0.0, 0.0)
        return float(dropped[end - 1]) - before[0], float(counted[end - 1]) - before[1]

    def _add_machine(self, now: float, share: float) -> None:
        minute, machines, kept = now // 60 * 60, self._machines, self._machines_kept
        if machines and machines[-1][0] == minute:
            machines[-1][1] += 1
            machines[-1][2] += share
        else:
            machines.append([minute, 1.0, share])
        kept[0] += 1
        kept[1] += share
        self.machine_window(now)

    def machine_window(self, now: float) -> tuple[int, float]:
        """(machine verdicts, the people they were counted as) over the regulatory window
        ending ``now``, to the minute (for the supervisors: the pacer's window counts each
        verdict's share to the instant)."""
        machines, kept, oldest = self._machines, self._machines_kept, now - self.window_s
        while machines and machines[0][0] + 60 <= oldest:
            _, verdicts, people = machines.popleft()
            kept[0] -= verdicts
            kept[1] -= people
        return round(kept[0]), max(kept[1], 0.0)

    @staticmethod
    def _from(running: Floats, end: int, index: NDArray[np.intp]) -> Floats:
        """A running count's increase from each index on, to ``end``."""
        if end == 0:
            return np.zeros(len(index))
        before = np.where(index > 0, running[np.maximum(index - 1, 0)], 0.0)
        result: Floats = running[end - 1] - before
        return result

    def outlook(self, now: float, ahead_s: Floats) -> tuple[Floats, Floats]:
        """(abandoned, live answers) of today's window that will still be in the window
        ``ahead_s`` s from now: the abandons stay in it while older answers leave it."""
        self._prune(now)
        times = self._times[self._first : self._end]
        index = self._first + times.searchsorted(now + ahead_s - self.window_s)
        return self._from(self._dropped, self._end, index), self._from(
            self._counted, self._end, index
        )

    def _make_room(self) -> None:
        """Drop what left the window; grow the buffers if still full."""
        kept = self._end - self._first
        size = len(self._times) * (2 if kept > len(self._times) // 2 else 1)
        first = self._first
        base = float(self._dropped[first - 1]) if first else 0.0
        counted = float(self._counted[first - 1]) if first else 0.0
        for name, less in (("_times", 0.0), ("_dropped", base), ("_counted", counted)):
            old = getattr(self, name)
            new = np.zeros(size)
            new[:kept] = old[first : self._end] - less
            setattr(self, name, new)
        self._first, self._end = 0, kept
        self._dropped_before += base
        self._counted_before += counted

    def answers_per_window(self, now: float, answers: float | None = None) -> float:
        """Live answers a whole window holds at the recent pace (extrapolated early on);
        ``answers``: the window's, when the caller has just asked ``window(now)``."""
        if answers is None:
            _, answers = self.window(now)
        if self.first_answer is None:
            return 0.0
        # not before a quarter of an hour: a few early answers say little about the pace
        span = min(self.window_s, max(now - self.first_answer, 900.0))
        return answers * self.window_s / span

    def window_rate(self, now: float) -> float:
        abandoned, answers = self.window(now)
        return abandoned / answers if answers else 0.0

    def last_minute(self, now: float) -> tuple[int, int]:
        """(live answers, abandoned) in the last 60 s."""
        self._prune(now)
        return len(self._minute), self._minute_dropped

    def answer_rate(self) -> float:
        """Share of finished dials a person answered."""
        return self._answered.mean()

    def mean_answer_ring(self) -> float:
        """Mean seconds from dial to a person's answer."""
        answered = self._sorted("answered")
        return float(answered.mean()) if len(answered) else 0.0

    def mean_dial(self) -> float:
        """Mean seconds a dial takes to resolve (answered or not)."""
        return self._ring.mean()

    def mean_talk(self) -> float:
        return self._talk.mean()

    def mean_talk_with(self, ongoing: Floats) -> float:
        """Mean talk time counting the calls still going as at risk (Kaplan-Meier): early in
        a shift the ended talks are the short ones, and a 5-seat shift's first hour saw a mean
        of 134 s where the day's was 220 s."""
        return _mean_at_risk(self._sorted("talk"), ongoing)

    def mean_wrap(self) -> float:
        return self._wrap.mean()

    def answer_chance(self, ring_elapsed: Floats) -> Floats:
        """For calls out for ``ring_elapsed`` s and not answered yet: the chance a person
        still answers at all (answered later, over all dials resolved later)."""
        result: Floats = self.answer_chance_by(ring_elapsed, np.array([np.inf]))[:, 0]
        return result

    def answer_chance_by(self, ring_elapsed: Floats, within: Floats) -> Floats:
        """For calls out for ``ring_elapsed`` s (to the whole second) and not answered yet:
        the chance a person answers within each of ``within`` s from now (calls x times)."""
        table = self.answer_table(within)
        return table[table_rows(ring_elapsed, len(table))]

    def answer_table(self, within: Floats) -> Floats:
        """Rows: whole seconds rung so far, 0 to past the longest ring seen (that last row:
        no answer to come); columns: the chance of a person's answer within ``within`` s."""
        return self._memo("dials", ("answer", within.tobytes()), lambda: self._answers(within))

    def _answers(self, within: Floats) -> Floats:
        answered, resolved = self._sorted("answered"), self._sorted("resolved")
        if len(resolved) == 0:
            return np.zeros((1, len(within)))
        r = np.arange(math.ceil(resolved[-1]) + 2, dtype=np.float64)[:, None]
        before = answered.searchsorted(r, side="right")
        by = answered.searchsorted(r + within[None, :], side="right")
        later = len(resolved) - resolved.searchsorted(r, side="right")
        result: Floats = (by - before) / np.maximum(later, 1)
        return result

    def answered_by(self, within: Floats) -> Floats:
        """For a new call: the chance a person answers within each of ``within`` s."""
        result: Floats = self.answer_table(within)[0]
        return result

    def talk_ends_by(self, elapsed: Floats, within: Floats) -> Floats:
        """For calls talking for ``elapsed`` s (to the whole second): the chance each ends
        within each of ``within`` s (calls x times)."""
        return self._ends_by("talk", elapsed, within)

    def end_table(self, name: str, elapsed: Floats, within: Floats) -> Floats:
        """The table behind ``talk_ends_by`` (``name`` "talk") or ``wrap_ends_by`` ("wrap"):
        a row per whole second elapsed (``table_rows``), with ``elapsed`` the ones going."""
        return self._memo(
            name, (name, within.tobytes()), lambda: _ends(self._sorted(name), elapsed, within)
        )

    def _ends_by(self, name: str, elapsed: Floats, within: Floats) -> Floats:
        table = self.end_table(name, elapsed, within)
        return table[table_rows(elapsed, len(table))]

    def _sorted(self, name: str) -> Floats:
        source = "dials" if name in ("answered", "resolved") else name
        return self._memo(source, name, lambda: self._sort(name))

    def _sort(self, name: str) -> Floats:
        if name == "answered":
            values = self._ring.values()[self._answered.values() > 0]
        elif name == "resolved":
            values = self._ring.values()
        else:
            values = (self._talk if name == "talk" else self._wrap).values()
        values.sort()  # a copy of the sample's (``_Ring.values``, or picked from it)
        return values

    def _memo(self, source: str, key: Hashable, build: Callable[[], Floats]) -> Floats:
        """A value built from the ``source`` sample, rebuilt once a tenth of the sample is
        new since it was built (the distributions barely move in between, and rebuilding for
        every call ended cost most of a 300-seat simulation); but with a full sample and
        within ``FRESH_S`` of the last rebuild, only once a fifth is. A large team renews a
        tenth in seconds, and those rebuilds still cost it an eighth of its decisions; teams
        of 100 seats or fewer take longer than that over a tenth, and decide as before (at a
        fifth for all, the worst hour of a 10-seat shift rose above the cap: 4.05%)."""
        ring = self._rings[source]
        entry = self._cache.get(key)
        added = ring._count  # asked every decision: no property or ``len`` calls
        if entry is not None:
            new, size = added - entry[0], min(added, ring._size)
            full = size == ring._size
            if new < max(1, size // 10) or (
                full and new < size // 5 and self._now - entry[1] < FRESH_S
            ):
                return entry[2]
        if len(self._cache) > 64:
            self._cache.clear()
        value = build()
        self._cache[key] = (added, self._now, value)
        return value


FRESH_S = 20.0
"""Seconds within which a rebuilt table is kept until a fifth of its sample is new."""


def table_rows(elapsed: Floats, rows: int) -> NDArray[np.intp]:
    """Table rows for elapsed seconds: the whole second, the last row for anything past it."""
    result: NDArray[np.intp] = np.minimum(elapsed, rows - 1).astype(np.intp)
    return result


class _Ring:
    """The last ``size`` values (order does not matter here). A C array, not a numpy one:
    appends, one per call event, cost a third as much; ``values`` copies them out."""

    __slots__ = ("_buffer", "_count", "_size", "_sum")

    def __init__(self, size: int) -> None:
        self._buffer = array.array("d", bytes(8 * size))
        self._size = size
        self._count = 0
        self._sum = 0.0

    def append(self, value: float) -> None:
        slot = self._count % self._size
        if self._count >= self._size:
            self._sum -= self._buffer[slot]
        self._buffer[slot] = value
        self._sum += value
        self._count += 1

    def extend(self, values: list[float]) -> None:
        """``append`` each, in order (the running sum adds them as ``append`` would)."""
        buffer, size, count, total = self._buffer, self._size, self._count, self._sum
        for value in values:
            slot = count % size
            if count >= size:
                total -= buffer[slot]
            buffer[slot] = value
            total += value
            count += 1
        self._count, self._sum = count, total

    def __len__(self) -> int:
        return self._count if self._count < self._size else self._size

    def values(self) -> Floats:
        return np.frombuffer(self._buffer, count=len(self)).copy()

    def mean(self) -> float:
        n = len(self)
        return self._sum / n if n else 0.0


def _survival(durations: Floats, ongoing: Floats) -> Floats:
    """Kaplan-Meier survival just after each sorted duration (1.0 first), with the ``ongoing``
    elapsed times at risk up to their elapsed time."""
    n = len(durations)
    ongoing = ongoing.copy()
    ongoing.sort()
    at_risk = (n - np.arange(n)) + (len(ongoing) - ongoing.searchsorted(durations))
    result: Floats = np.concatenate([[1.0], (1.0 - 1.0 / at_risk).cumprod()])
    return result


def _tail_mean(durations: Floats, ongoing: Floats) -> float:
    """Mean of the exponential tail past the longest duration seen."""
    return max(float(durations.mean()), float(ongoing.mean()) if len(ongoing) else 0.0, 1.0)


def _mean_at_risk(durations: Floats, ongoing: Floats) -> float:
    """Kaplan-Meier mean: the area under the survival curve, with the tail past the longest
    duration seen as in ``_ends``."""
    if len(durations) == 0:
        return float(ongoing.mean()) if len(ongoing) else 0.0
    survival = _survival(durations, ongoing)
    steps = np.diff(np.concatenate([[0.0], durations]))
    return float((survival[:-1] * steps).sum() + survival[-1] * _tail_mean(durations, ongoing))


def _ends(durations: Floats, ongoing: Floats, within: Floats) -> Floats:
    """Rows: whole seconds elapsed, 0 to past the longest duration seen; columns: the chance
    of the end within ``within`` s.

    Kaplan-Meier: the ones still going count as at risk up to their elapsed time. Without
    them, the first minutes' sample holds only the short calls (the long ones have not ended
    yet) and the seats look about to free: a 300-seat shift abandoned 158 calls in its
    second minute. Past the longest duration seen (the last row), an exponential tail whose
    mean is the larger of the ended and the ongoing ones' mean.
    """
    within = np.maximum(within, 0.0)
    if len(durations) == 0:
        return np.zeros((1, len(within)))
    survival = _survival(durations, ongoing)
    rows = math.ceil(durations[-1]) + 2
    e = np.arange(rows, dtype=np.float64)
    s_e = survival[durations.searchsorted(e, side="right")]
    result = _survival_by(survival, durations, e, within)  # in place from here: a table
    result /= np.maximum(s_e, 1e-12)[:, None]  # is large, and each new one costs its pages
    np.subtract(1.0, result, out=result)
    tail = 1.0 - np.exp(-within / _tail_mean(durations, ongoing))
    result[e >= durations[-1]] = tail  # the last row or two
    return result


def _survival_by(survival: Floats, durations: Floats, e: Floats, within: Floats) -> Floats:
    """Survival just after ``e + within`` (rows x columns), ``durations`` sorted, ``e`` the
    whole seconds from 0.

    ``within`` on a grid of half seconds (the pacer's horizons and seat times): one search
    over that grid, and the table gathered from a sliding window over it. Searching the rows
    x columns grid itself took most of a table's rebuild, and writing the table column by
    column (strided) most of the rest."""
    assert len(e) == 0 or e[0] == 0.0, "e: the whole seconds from 0"
    steps = 2.0 * within
    if not (len(within) and np.isfinite(steps).all() and (steps == np.round(steps)).all()):
        at: Floats = survival[
            np.searchsorted(durations, e[:, None] + within[None, :], side="right")
        ]
        return at
    shifts = steps.astype(np.intp)
    points = 2 * len(e) + int(shifts.max())
    # Durations up to each half second k / 2: those with ceil(2 d) <= k, counted (a search
    # per point took twice as long). A negative duration counts from the first point on.
    halves = np.ceil(2.0 * durations).astype(np.intp)
    if len(halves) and halves[0] < 0:
        halves = np.maximum(halves, 0)
    up_to = np.bincount(halves, minlength=points)[:points].cumsum()
    by_half = survival[up_to]
    result: Floats = sliding_window_view(by_half, int(shifts.max()) + 1)[: 2 * len(e) : 2, shifts]
    return result
