"""Rolling statistics of recent calls, as pacers learn from them (pure; fed by the caller).

Ring times of finished dials (answered by a person or not), talk and wrap-up durations, and
the live answers of the regulatory window with whether each was abandoned.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


class CallStats:
    """Recent history, bounded; every query is a pure function of what was recorded."""

    def __init__(self, window_s: float = 3600.0, keep: int = 1000) -> None:
        self.window_s = window_s
        self._ring = _Ring(keep)  # ring seconds of finished dials
        self._answered = _Ring(keep)  # 1.0 where a person answered
        self._talk = _Ring(keep // 2)
        self._wrap = _Ring(keep // 2)
        self._live: deque[tuple[float, bool]] = deque()
        self._minute: deque[tuple[float, bool]] = deque()  # live answers of the last 60 s
        self.first_answer: float | None = None
        self.dials_total = 0
        self.answers_total = 0
        self.abandons_total = 0
        self._cache: dict[str, Floats] = {}
        # running counts over the deques, so no query walks them
        self._live_abandoned = 0
        self._minute_dropped = 0

    # --- recording ------------------------------------------------------------------------

    def dial_ended(self, ring_s: float, answered: bool) -> None:
        """A dial resolved after ``ring_s``: a person answered, or it ended unanswered
        (busy, no answer, machine, failure)."""
        self._ring.append(ring_s)
        self._answered.append(1.0 if answered else 0.0)
        self.dials_total += 1
        self._cache.clear()

    def live_answer(self, now: float, abandoned: bool) -> None:
        """A person answered; ``abandoned`` when no seat took the call in time."""
        if self.first_answer is None:
            self.first_answer = now
        self._live.append((now, abandoned))
        self._minute.append((now, abandoned))
        self._live_abandoned += abandoned
        self._minute_dropped += abandoned
        self.answers_total += 1
        self.abandons_total += abandoned
        self._prune(now)

    def talk_ended(self, seconds: float) -> None:
        self._talk.append(seconds)
        self._cache.clear()

    def wrap_ended(self, seconds: float) -> None:
        self._wrap.append(seconds)
        self._cache.clear()

    def _prune(self, now: float) -> None:
        while self._live and self._live[0][0] < now - self.window_s:
            self._live_abandoned -= self._live.popleft()[1]
        while self._minute and self._minute[0][0] < now - 60.0:
            self._minute_dropped -= self._minute.popleft()[1]

    # --- queries ----------------------------------------------------------------------------

    @property
    def finished_dials(self) -> int:
        return len(self._ring)

    @property
    def talks(self) -> int:
        return len(self._talk)

    def window(self, now: float) -> tuple[int, int]:
        """(abandoned, live answers) over the regulatory window ending ``now``."""
        self._prune(now)
        return self._live_abandoned, len(self._live)

    def answers_per_window(self, now: float) -> float:
        """Live answers a whole window holds at the recent pace (extrapolated early on)."""
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

    def mean_talk(self) -> float:
        return self._talk.mean()

    def mean_wrap(self) -> float:
        return self._wrap.mean()

    def answer_chance(self, ring_elapsed: Floats) -> Floats:
        """For calls out for ``ring_elapsed`` s and not answered yet: the chance a person
        still answers at all (answered later, over all dials resolved later)."""
        result: Floats = self.answer_chance_by(ring_elapsed, np.array([np.inf]))[:, 0]
        return result

    def answer_chance_by(self, ring_elapsed: Floats, within: Floats) -> Floats:
        """For calls out for ``ring_elapsed`` s and not answered yet: the chance a person
        answers within each of ``within`` s from now (calls x times)."""
        answered, resolved = self._sorted("answered"), self._sorted("resolved")
        if len(resolved) == 0:
            return np.zeros((len(ring_elapsed), len(within)))
        r = ring_elapsed[:, None]
        before = np.searchsorted(answered, r, side="right")
        by = np.searchsorted(answered, r + within[None, :], side="right")
        later = len(resolved) - np.searchsorted(resolved, r, side="right")
        result: Floats = (by - before) / np.maximum(later, 1)
        return result

    def answered_by(self, within: Floats) -> Floats:
        """For a new call: the chance a person answers within each of ``within`` s."""
        answered, resolved = self._sorted("answered"), self._sorted("resolved")
        if len(resolved) == 0:
            return np.zeros(len(within))
        result: Floats = np.searchsorted(answered, within, side="right") / len(resolved)
        return result

    def talk_ends_within(self, elapsed: Floats, horizon: Floats | float) -> Floats:
        """For calls talking for ``elapsed`` s: the chance each ends within ``horizon`` s."""
        return _ends_within(self._sorted("talk"), elapsed, horizon, self.mean_talk())

    def wrap_ends_within(self, elapsed: Floats, horizon: Floats | float) -> Floats:
        return _ends_within(self._sorted("wrap"), elapsed, horizon, self.mean_wrap())

    def _sorted(self, name: str) -> Floats:
        if name not in self._cache:
            if name == "answered":
                values = self._ring.values()[self._answered.values() > 0]
            elif name == "resolved":
                values = self._ring.values()
            else:
                values = (self._talk if name == "talk" else self._wrap).values()
            self._cache[name] = np.sort(values)
        return self._cache[name]


class _Ring:
    """The last ``size`` values, in a fixed numpy buffer (order does not matter here)."""

    def __init__(self, size: int) -> None:
        self._buffer = np.zeros(size)
        self._count = 0
        self._sum = 0.0

    def append(self, value: float) -> None:
        slot = self._count % len(self._buffer)
        if self._count >= len(self._buffer):
            self._sum -= self._buffer[slot]
        self._buffer[slot] = value
        self._sum += value
        self._count += 1

    def __len__(self) -> int:
        return min(self._count, len(self._buffer))

    def values(self) -> Floats:
        return self._buffer[: len(self)]

    def mean(self) -> float:
        return self._sum / len(self) if len(self) else 0.0


def _ends_within(
    durations: Floats, elapsed: Floats, horizon: Floats | float, mean: float
) -> Floats:
    """P(D <= e + h | D > e) from a sorted sample of durations D; past the longest seen, an
    exponential tail with the sample's mean."""
    n = len(durations)
    if n == 0:
        return np.zeros(len(elapsed))
    if isinstance(horizon, float):
        horizon = max(horizon, 0.0)
        tail: Floats | float = 1.0 - math.exp(-horizon / max(mean, 1.0))
    else:
        horizon = np.maximum(horizon, 0.0)
        tail = 1.0 - np.exp(-horizon / max(mean, 1.0))
    above_e = n - np.searchsorted(durations, elapsed, side="right")
    above_eh = n - np.searchsorted(durations, elapsed + horizon, side="right")
    empirical = (above_e - above_eh) / np.maximum(above_e, 1)
    result: Floats = np.where(above_e > 0, empirical, tail)
    return result
