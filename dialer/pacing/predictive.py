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

import functools
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
    warmup_dials: int = 100
    warmup_talks: int = 20
    """Progressive until this many dials and calls have ended: thin statistics overdial."""
    min_window_answers: int = 30
    """Live answers the window needs before its rate steers anything."""
    max_lines_per_seat: float = 8.0
    risk: float = 0.02
    """Accepted chance that a window's abandons exceed the cap at the steered rate."""
    steer_s: float = 600.0
    budget_share: float = 0.25
    """Share of the abandons the window can still take that one decision may risk."""
    name: str = "predictive"
    _gain: float = 1.0
    _last: float | None = None

    def launch(self, snap: Snapshot) -> int:
        stats = snap.stats
        progressive = one_per_free_seat(snap)
        if stats.finished_dials < self.warmup_dials or stats.talks < self.warmup_talks:
            return progressive
        p = stats.answer_rate()
        if p <= 0.0:
            return progressive
        abandoned, answers = stats.window(snap.now)
        rate = abandoned / answers if answers else 0.0
        per_window = stats.answers_per_window(snap.now)
        target = min(self.target, safe_rate(self.cap, per_window, self.risk))
        budget = self.cap * max(per_window, answers) - abandoned - 1
        if budget <= 0 or (
            answers >= self.min_window_answers and rate >= self.cap - self.fallback_margin
        ):
            return progressive  # one more abandon would breach the cap: stop taking risks
        alpha = target * self._steer(snap.now, rate, target, answers)
        times = HORIZONS + GRACE_S  # a seat freeing up to the grace after an answer takes it
        seats = self._seat_chances(snap, times)
        ringing, calls = grouped(snap.ring_elapsed)
        persons = Chances(stats.answer_chance_by(ringing, HORIZONS), calls)
        eventual = float((stats.answer_chance(ringing) * calls).sum())
        new = stats.answered_by(HORIZONS)
        room = min(
            snap.channel_room,
            max(0, int(self.max_lines_per_seat * snap.staffed) - snap.in_flight),
        )
        n = most_calls(
            seats, persons, eventual, new, snap.free, snap.waiting, p, alpha, room,
            self.budget_share * budget,
        )  # fmt: skip
        return max(n, progressive)

    def _steer(self, now: float, rate: float, target: float, answers: int) -> float:
        """Integral feedback: the gain shrinks while the window's rate is above target and
        grows while below, with a time constant of ``steer_s`` (bounded)."""
        dt = 0.0 if self._last is None else now - self._last
        self._last = now
        if answers >= self.min_window_answers and target > 0:
            step = dt / self.steer_s * (target - rate) / target
            self._gain = float(np.clip(self._gain * math.exp(step), 0.05, 1.5))
        return self._gain

    @staticmethod
    def _seat_chances(snap: Snapshot, times: NDArray[np.float64]) -> Chances:
        """Seats x times: the chance each busy or wrapping seat is free by each time."""
        stats = snap.stats
        wrap = stats.mean_wrap()
        talk, talkers = grouped(snap.talk_elapsed)
        talking = stats.talk_ends_within(
            np.repeat(talk, len(times)), np.tile(np.maximum(times - wrap, 0.0), len(talk))
        ).reshape(len(talk), len(times))
        wrap_e, wrappers = grouped(snap.wrap_elapsed)
        wrapping = stats.wrap_ends_within(
            np.repeat(wrap_e, len(times)), np.tile(times, len(wrap_e))
        ).reshape(len(wrap_e), len(times))
        return Chances(np.concatenate([talking, wrapping]), np.concatenate([talkers, wrappers]))


@dataclass(frozen=True, slots=True)
class Chances:
    """Chances by horizon (rows x horizons) for groups of ``weights`` alike seats or calls."""

    p: NDArray[np.float64]
    weights: NDArray[np.float64]

    def mean(self) -> NDArray[np.float64]:
        result: NDArray[np.float64] = (self.p * self.weights[:, None]).sum(axis=0)
        return result

    def variance(self) -> NDArray[np.float64]:
        result: NDArray[np.float64] = (self.p * (1 - self.p) * self.weights[:, None]).sum(axis=0)
        return result


def grouped(elapsed: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Elapsed times to the second, and how many share each: the chances of 300 seats or a
    thousand calls are computed once per distinct second, not once each."""
    values, counts = np.unique(np.floor(elapsed), return_counts=True)
    return values, counts.astype(np.float64)


def safe_rate(cap: float, answers: float, risk: float) -> float:
    """The highest abandon rate whose Poisson count over a window of ``answers`` live answers
    exceeds the cap's count with a chance of at most ``risk``: small teams get a lower rate,
    since one abandon weighs more in a small window."""
    if answers < 1:
        return 0.0
    allowed = math.floor(cap * answers)
    return _safe_mean(allowed, risk) / answers


@functools.lru_cache(maxsize=4096)
def _safe_mean(allowed: int, risk: float) -> float:
    """Largest Poisson mean m (to 1%) with P(X > allowed) <= risk."""
    low, high = 0.0, float(allowed + 1)
    for _ in range(30):
        m = (low + high) / 2
        term = math.exp(-m)
        cdf = term
        for k in range(1, allowed + 1):
            term *= m / k
            cdf += term
        if 1.0 - cdf <= risk:
            low = m
        else:
            high = m
    return low


HORIZONS = np.array([1.0, 3.0, 5.0, 7.0, 9.0, 12.0, 16.0, 20.0, 25.0])
"""Seconds ahead at which answers are weighed against seats."""


def most_calls(
    seats: Chances,
    persons: Chances,
    eventual: float,
    new: NDArray[np.float64],
    free: int,
    waiting: int,
    p: float,
    alpha: float,
    room: int,
    most_abandons: float = math.inf,
) -> int:
    """The largest n <= room whose worst expected overflow (answers so far over seats so far,
    at each horizon) stays within alpha x the expected answers of all calls out.

    ``seats`` is seats x horizons, ``persons`` calls in flight x horizons (chance of an answer
    by then), ``eventual`` the calls' expected answers at all, ``new`` a new call's chance
    of an answer by each horizon, ``p`` of an answer at all; the overflow never exceeds
    ``most_abandons`` (what is left of the window's budget).
    """
    if room <= 0:
        return 0
    mu_s = free + seats.mean()  # per horizon
    var_s = seats.variance()
    mu_a0 = waiting + persons.mean()
    var_a0 = persons.variance()
    total0 = waiting + eventual
    # Past the seats' mean plus a generous spread, answers surely overflow: no need to look.
    last = float(mu_s[-1] + 4.0 * math.sqrt(mu_s[-1] + 1.0))
    beyond = max(last - total0, 0.0) / p + 1.0
    n = np.arange(min(room, int(beyond)) + 1, dtype=np.float64)[:, None]
    # + 0.5: continuity correction; counts of a few calls are skewed, and without it the normal
    # tail underestimated a small team's overflow fourfold
    mu = mu_a0[None, :] + n * new[None, :] - mu_s[None, :] + 0.5
    sigma = np.sqrt(var_a0[None, :] + var_s[None, :] + n * new * (1 - new) + 1e-9)
    z = mu / sigma
    overflow = (sigma * _pdf(z) + mu * _cdf(z)).max(axis=1)
    expected = total0 + n[:, 0] * p
    allowed = np.minimum(alpha * np.maximum(expected, 1e-9), most_abandons)
    ok = np.nonzero(overflow <= allowed)[0]
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
