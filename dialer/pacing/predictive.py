"""Our predictive pacer: launch what the seats freeing within the answer horizon can take, with
the expected abandons of the calls out held to a target steered by the window's abandon rate.

Each decision forecasts two counts at the moment new calls would be answered (the mean ring
time to a person's answer, plus the 2 s a callee may wait): seats available (free now, plus
each busy or wrapping seat by its chance of freeing in time, from recent talk and wrap-up
durations given how long it has been going) and persons answering (each call in flight by its
chance of still being answered given how long it has rung, plus ``p`` for each new call). With
both as sums of independent chances (normal approximation), the expected overflow
E[max(answers - seats, 0)] is the expected number of abandons; the pacer launches the most new
calls that keep it under ``alpha`` times the expected answers. ``alpha`` starts at the target
and is scaled by target / observed over the regulatory window (bounded), and when the window's
rate nears the cap the pacer falls back to progressive until it recovers. Small teams need no
special case: their larger relative variance makes the same rule more careful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dialer.pacing.progressive import one_per_free_seat
from dialer.pacing.snapshot import Snapshot

GRACE_S = 2.0  # a callee waits this long for a seat before the call is abandoned


@dataclass
class Predictive:
    """Abandon-capped predictive pacing (see the module's docstring)."""

    target: float = 0.02
    """Abandoned over live answers to steer to, below the cap."""
    cap: float = 0.03
    fallback_margin: float = 0.004
    """Fall back to progressive when the window's rate is within this of the cap."""
    warmup_dials: int = 30
    min_window_answers: int = 30
    """Live answers the window needs before its rate steers anything."""
    max_lines_per_seat: float = 8.0
    name: str = "predictive"

    def launch(self, snap: Snapshot) -> int:
        stats = snap.stats
        progressive = one_per_free_seat(snap)
        if stats.finished_dials < self.warmup_dials or stats.talks < 3:
            return progressive
        p = stats.answer_rate()
        if p <= 0.0:
            return progressive
        abandoned, answers = stats.window(snap.now)
        rate = abandoned / answers if answers else 0.0
        if answers >= self.min_window_answers and rate >= self.cap - self.fallback_margin:
            return progressive
        alpha = self.target * self._scale(rate, answers)
        horizon = stats.mean_answer_ring() + GRACE_S
        seats = self._seat_chances(snap, horizon)
        persons = stats.answer_chance(snap.ring_elapsed)
        room = min(
            snap.channel_room,
            max(0, int(self.max_lines_per_seat * snap.staffed) - snap.in_flight),
        )
        n = most_calls(seats, persons, snap.free, snap.waiting, p, alpha, room)
        return max(n, progressive)

    def _scale(self, rate: float, answers: int) -> float:
        """Feedback: below target, allow a little more; above, less (bounded)."""
        if answers < self.min_window_answers:
            return 0.5  # little evidence yet: half the target
        return float(np.clip(self.target / max(rate, 1e-3), 0.25, 1.5))

    @staticmethod
    def _seat_chances(snap: Snapshot, horizon: float) -> NDArray[np.float64]:
        stats = snap.stats
        wrap = stats.mean_wrap()
        talking = stats.talk_ends_within(snap.talk_elapsed, max(horizon - wrap, 0.0))
        wrapping = stats.wrap_ends_within(snap.wrap_elapsed, horizon)
        return np.concatenate([talking, wrapping])


def most_calls(
    seats: NDArray[np.float64],
    persons: NDArray[np.float64],
    free: int,
    waiting: int,
    p: float,
    alpha: float,
    room: int,
) -> int:
    """The largest n <= room whose expected overflow stays within alpha x expected answers."""
    if room <= 0:
        return 0
    mu_s = free + float(seats.sum())
    var_s = float((seats * (1 - seats)).sum())
    mu_a0 = waiting + float(persons.sum())
    var_a0 = float((persons * (1 - persons)).sum())
    # Past the seats' mean plus a generous spread, answers surely overflow: no need to look.
    beyond = (max(mu_s - mu_a0, 0.0) + 4.0 * math.sqrt(mu_s + var_a0 + 1.0)) / p + 1.0
    n = np.arange(min(room, int(beyond)) + 1, dtype=np.float64)
    mu_a = mu_a0 + n * p
    sigma = np.sqrt(var_a0 + var_s + n * p * (1 - p) + 1e-9)
    z = (mu_a - mu_s) / sigma
    overflow = sigma * _pdf(z) + (mu_a - mu_s) * _cdf(z)
    ok = np.nonzero(overflow <= alpha * np.maximum(mu_a, 1e-9))[0]
    return int(ok[-1]) if len(ok) else 0


def _pdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return result


def _cdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard normal CDF (Abramowitz and Stegun 7.1.26 for erf; error below 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-x * x)
    result: NDArray[np.float64] = 0.5 * (1.0 + np.sign(z) * erf)
    return result
