"""The discrete-event simulator: a shift of seats, callees and cells in virtual time.

Deterministic for a seed. The pacer under test is asked every second of virtual time, with the
same ``Snapshot`` the live dialer builds, and its count is shared over the cells by
``pacing.cells.spread``. Seats, calls and interviews follow the live rules: a person answering
with no seat free is put through by a seat coming free within the grace (the dialer's cut-off,
``regulation.grace_s``, which the pacer is told) and their patience, else the call is
abandoned; an interview reserves its cell, and a callee from a full cell is screened out.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from dialer.pacing.cells import CellNeed, spread
from dialer.pacing.registry import Pacer
from dialer.pacing.snapshot import Snapshot
from dialer.pacing.stats import CallStats
from dialer.simulate.scenario import Scenario

TICK_S = 1.0
PRIOR_YIELD, PRIOR_WEIGHT = 0.05, 20.0


# Seat states and event kinds as plain ints: enum attribute lookups cost a third of the run.
FREE, TALK, WRAP, PAUSED = 0, 1, 2, 3
DUE = 4  # added to a seat's state when its break is due
TICK, ANSWER, UNANSWERED, GIVE_UP, TALK_END, WRAP_END, BREAK_END, MACHINE, PERSON_AS_MACHINE = (
    range(9)
)


@dataclass(frozen=True, slots=True)
class Result:
    """One run's figures (see ``dialer simulate``)."""

    scenario: str
    pacer: str
    seed: int
    seats: int
    occupancy: float
    """Talk and wrap-up over logged-in seat time, breaks included (the issue's definition)."""
    occupancy_staffed: float
    """Talk and wrap-up over the time seats were ready for calls: breaks left out (the
    workforce planners' occupancy)."""
    abandon_rate: float
    max_window_abandon_rate: float
    dials: int
    answers: int
    abandoned: int
    """Callees hung up on: no seat in time, or taken for a machine (``amd_false_positives``)."""
    amd_false_positives: int
    completes: int
    target: int
    contacts_per_seat_hour: float
    wait_p95_s: float
    quota_overshoot: int
    sim_seconds_per_wall_second: float


@runtime_checkable
class Clairvoyant(Protocol):
    """A pacer that sees the simulation's future (the oracle): it picks the cells to dial
    now itself."""

    name: str

    def dials(self, sim: Simulation, now: float) -> list[int]: ...


class Simulation:
    """One shift; ``run`` returns its ``Result``."""

    def __init__(self, scenario: Scenario, pacer: Pacer | Clairvoyant, seed: int) -> None:
        self.sc = scenario
        self.pacer = pacer
        self.clairvoyant = pacer if isinstance(pacer, Clairvoyant) else None
        self.pacing = None if isinstance(pacer, Clairvoyant) else pacer
        self.seed = seed
        self.grace = getattr(pacer, "drop_after_s", scenario.grace_s)
        """How long a caller with no seat is held before the abandon: the scenario's (our
        dialer's cut-off), or a baseline's own drop timer."""
        self.rng = random.Random(seed)
        n = scenario.seats
        self.state = np.full(n, FREE, dtype=np.int8)
        self.since = np.zeros(n)
        self.busy_time = np.zeros(n)  # talk + wrap-up
        self.staffed_time = np.zeros(n)  # logged in and not on a break
        # Work since the last break; staggered, as supervisors stagger breaks (all seats
        # breaking in the same minute emptied a 300-seat floor under its calls in flight).
        every = scenario.break_every_min * 60
        self.worked = np.array([self.rng.uniform(0, every) for _ in range(n)])
        self.call_on_seat: list[tuple[int, bool] | None] = [None] * n  # (cell, reserved)
        self.stats = CallStats(
            window_s=scenario.abandon_window_min * 60, machine_people=scenario.amd_estimate
        )
        self.verdicts = scenario.amd_false_positive > 0 or scenario.amd_estimate > 0
        """Whether machine verdicts are events of their own (they count as abandons), not
        left with the other unanswered dials to the tick that sees them."""
        self.events: list[tuple[float, int, int, int, float]] = []
        self.seq = 0
        self.flight: dict[int, float] = {}  # dial id -> launched at
        self.flying: dict[float, int] = {}
        """Dials in flight by when they were launched (a tick's dials share their time): the
        snapshot's ring times come from the 30 or so entries, not one per dial."""
        # Dials ending unanswered, by the tick that first sees them ended: nothing between
        # ticks reads them, and a 300-seat shift has 230,000 of them to keep off the heap.
        self.ending: dict[int, list[tuple[int, float]]] = {}
        self.free_seats: list[tuple[float, int]] = [(0.0, seat) for seat in range(n)]
        """Free seats as (free since, seat), a heap; entries of seats taken since are
        skipped when they surface."""
        self.answer_at: dict[int, float] = {}  # dial id -> when a person will answer
        self.free_at = np.zeros(n)  # when a talking or wrapping seat will be free
        self.wrap_of = np.zeros(n)  # the wrap-up drawn for a seat's current call
        self.upcoming: list[deque[tuple[int, float]]] = []  # per cell: the next outcomes
        self.flight_cell: dict[int, int] = {}
        self.waiting: dict[int, tuple[float, int]] = {}  # dial id -> (answered at, cell)
        self.cells = scenario.cells
        spread_ = scenario.yield_spread
        self.cell_factor = [1 + spread_ * (2 * self.rng.random() - 1) for _ in range(self.cells)]
        self.answer_of = [min(scenario.answer * f, 1.0) for f in self.cell_factor]
        base, extra = divmod(scenario.target, self.cells)
        self.target = [base + (1 if i < extra else 0) for i in range(self.cells)]
        self.completes = [0] * self.cells
        self.upcoming = [deque() for _ in range(self.cells)]
        self.in_progress = [0] * self.cells
        self.numbers = [scenario.numbers // self.cells] * self.cells
        self.cell_dials = [0] * self.cells
        self.cell_done = [0] * self.cells  # completes by the frame cell (the yield's numerator)
        self.in_flight_cell = [0] * self.cells
        self.dials = 0
        self.answers = 0
        self.abandoned = 0
        self.false_positives = 0
        self.live_log: list[tuple[float, bool]] = []
        self.waits: list[float] = []
        self.end = scenario.shift_h * 3600

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> Result:
        started = time.perf_counter()
        self._push(0.0, TICK)
        handlers = (  # by event kind
            lambda at, ident, value: self._tick(at),
            self._answer,
            lambda at, ident, value: self._unanswered([(ident, value)]),  # unused: ``ending``
            lambda at, ident, value: self._give_up(at, ident),
            self._talk_end,
            self._wrap_end,
            lambda at, ident, value: self._break_end(at, ident),
            self._machine,
            self._person_as_machine,
        )
        events, pop, end = self.events, heapq.heappop, self.end
        while events:
            at, _, kind, ident, value = pop(events)
            if at > end:
                break
            handlers[kind](at, ident, value)
        wall = time.perf_counter() - started
        return self._result(wall)

    def _break_end(self, now: float, seat: int) -> None:
        self._set(seat, FREE, now)
        self._seat_free(now, seat)

    def _push(self, at: float, kind: int, ident: int = 0, value: float = 0.0) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, ident, value))

    # --- pacing ----------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        if now + TICK_S <= self.end:
            self._push(now + TICK_S, TICK)
        ended = self.ending.pop(math.ceil(now), None)
        if ended:
            self._unanswered(ended)
        if self.clairvoyant is not None:
            for cell in self.clairvoyant.dials(self, now):
                self._dial(now, cell, 1)
            return
        state = self.state
        elapsed = now - self.since
        # An operator whose break falls due has asked for it ("pause after this call"): the
        # pacer knows that seat will not come back free. Seats by state, and by whether
        # their break is due (DUE more), counted in one pass.
        due = self.worked + elapsed >= self.sc.break_every_min * 60
        key = np.where(due, state + DUE, state)
        counts = np.bincount(key, minlength=2 * DUE).tolist()
        flying = self.flying
        launched = np.fromiter(flying, dtype=np.float64, count=len(flying))
        out = np.fromiter(flying.values(), dtype=np.intp, count=len(flying))
        snap = Snapshot(
            now=now,
            free=counts[FREE] + counts[FREE + DUE],
            talk_elapsed=elapsed[key == TALK],
            wrap_elapsed=elapsed[key == WRAP],
            ring_elapsed=(now - launched).repeat(out),  # in the order dialled
            waiting=len(self.waiting),
            paused=counts[PAUSED] + counts[PAUSED + DUE] + counts[TALK + DUE] + counts[WRAP + DUE],
            channel_room=max(self._lines_free(counts[TALK] + counts[TALK + DUE]), 0),
            stats=self.stats,
            grace_s=self.grace,
        )
        assert self.pacing is not None
        count = self.pacing.launch(snap)
        if count <= 0:
            return
        for cell, k in enumerate(spread(count, self.needs())):
            if k:
                self._dial(now, cell, k)

    def lines_free(self) -> int:
        """Trunk lines left: dials ringing, callees waiting for a seat and callees talking
        each hold one (as the live dialer counts its calls)."""
        return self._lines_free(int((self.state == TALK).sum()))

    def _lines_free(self, talking: int) -> int:
        out = len(self.flight) + len(self.waiting) + talking
        return self.sc.seats * self.sc.channels_per_seat - out

    def needs(self) -> list[CellNeed]:
        """What each quota cell still needs, as the dialer's cell spread sees it."""
        prior = PRIOR_WEIGHT * PRIOR_YIELD
        return [
            CellNeed(target - completes - going, (done + prior) / (dials + PRIOR_WEIGHT), out, left)
            for target, completes, going, done, dials, out, left in zip(
                self.target, self.completes, self.in_progress, self.cell_done,
                self.cell_dials, self.in_flight_cell, self.numbers, strict=True,
            )
        ]  # fmt: skip

    def peek(self, cell: int, index: int) -> tuple[int, float]:
        """The outcome of the cell's ``index``-th next dial: its event and delay, drawn now
        if not yet (what the oracle pacer foresees; a dial then takes it as drawn)."""
        queue = self.upcoming[cell]
        while len(queue) <= index:
            queue.append(self._outcome(cell))
        return queue[index]

    def _dial(self, now: float, cell: int, count: int) -> None:
        """``count`` dials to the cell, in one call (a 300-seat shift places 270,000)."""
        self.numbers[cell] -= count
        self.cell_dials[cell] += count
        self.in_flight_cell[cell] += count
        self.flying[now] = self.flying.get(now, 0) + count
        flight, flight_cell, answer_at = self.flight, self.flight_cell, self.answer_at
        ending, queue, outcome, push = self.ending, self.upcoming[cell], self._outcome, self._push
        first = self.dials + 1
        self.dials += count
        for ident in range(first, first + count):
            flight[ident] = now
            flight_cell[ident] = cell
            kind, delay = queue.popleft() if queue else outcome(cell)
            if kind == ANSWER:
                answer_at[ident] = now + delay
                push(now + delay, kind, ident, delay)
            elif kind != UNANSWERED:
                push(now + delay, kind, ident, delay)
            else:
                ending.setdefault(_seen_at(now, delay), []).append((ident, delay))

    def _outcome(self, cell: int) -> tuple[int, float]:
        """A dial's fate: answered by a person after its ring time, or unanswered (busy,
        machine detected and hung up, no answer) after its own delay."""
        sc, rng = self.sc, self.rng
        answer = self.answer_of[cell]
        draw = rng.random()
        if draw < answer:
            ring = self._ring()
            if ring <= sc.ring_timeout_s:
                return ANSWER, ring
            return UNANSWERED, sc.ring_timeout_s
        if draw < answer + sc.busy:
            return UNANSWERED, sc.busy_s
        if draw < answer + sc.busy + sc.machine:
            delay = min(self._ring(), sc.ring_timeout_s) + sc.amd_s
            if not self.verdicts:
                return UNANSWERED, delay
            person = rng.random() < sc.amd_false_positive
            return (PERSON_AS_MACHINE if person else MACHINE), delay
        return UNANSWERED, sc.ring_timeout_s

    def _ring(self) -> float:
        mean, sd = self.sc.ring_mean_s, self.sc.ring_sd_s
        sigma2 = math.log(1 + (sd / mean) ** 2)
        return self.rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))

    def _resolve(self, ident: int) -> int:
        self._landed(self.flight.pop(ident))
        self.answer_at.pop(ident, None)
        cell = self.flight_cell.pop(ident)
        self.in_flight_cell[cell] -= 1
        return cell

    def _unanswered(self, ended: list[tuple[int, float]]) -> None:
        flight, flight_cell, in_flight_cell = self.flight, self.flight_cell, self.in_flight_cell
        landed = self._landed
        for ident, _ in ended:
            landed(flight.pop(ident))
            in_flight_cell[flight_cell.pop(ident)] -= 1
        self.stats.unanswered([ring for _, ring in ended])

    def _landed(self, launched: float) -> None:
        """A dial launched at ``launched`` is no longer in flight."""
        left = self.flying[launched] - 1
        if left:
            self.flying[launched] = left
        else:
            del self.flying[launched]

    # --- persons, seats, interviews ----------------------------------------------------------

    def _answer(self, now: float, ident: int, ring: float) -> None:
        cell = self._resolve(ident)
        self.stats.dial_ended(ring, answered=True)
        self.answers += 1
        seat = self._longest_free()
        if seat is not None:
            self._connect(now, seat, cell, now)
            return
        self.waiting[ident] = (now, cell)
        patience = self.rng.expovariate(1 / self.sc.patience_mean_s)
        self._push(now + min(self.grace, patience), GIVE_UP, ident)

    def _machine(self, now: float, ident: int, delay: float) -> None:
        """Detection judged the callee a machine and hung up: the pacer counts its estimate
        of a person in its window."""
        self._resolve(ident)
        self.stats.dial_ended(delay, answered=False)
        self.stats.machine_verdict(now)

    def _person_as_machine(self, now: float, ident: int, delay: float) -> None:
        """A person judged a machine and hung up on: to the pacer a machine, to the
        regulator a live answer abandoned."""
        self._machine(now, ident, delay)
        self.abandoned += 1
        self.false_positives += 1
        self.live_log.append((now, True))

    def _longest_free(self) -> int | None:
        """The seat free the longest (the lowest of equals), if any."""
        heap, state, since = self.free_seats, self.state, self.since
        while heap:
            at, seat = heap[0]
            if state[seat] == FREE and since[seat] == at:
                return seat
            heapq.heappop(heap)  # taken since
        return None

    def _give_up(self, now: float, ident: int) -> None:
        if self.waiting.pop(ident, None) is None:
            return  # a seat took the call in time
        self.abandoned += 1
        self.stats.live_answer(now, abandoned=True)
        self.live_log.append((now, True))

    def _connect(self, now: float, seat: int, cell: int, answered_at: float) -> None:
        sc, rng = self.sc, self.rng
        self.stats.live_answer(now, abandoned=False)
        self.live_log.append((now, False))
        self.waits.append(now - answered_at)
        self._set(seat, TALK, now)
        if self.completes[cell] + self.in_progress[cell] >= self.target[cell]:
            talk, outcome = sc.screen_out_s, -1.0  # the cell is full: screened out
            self.call_on_seat[seat] = (cell, False)
        else:
            self.in_progress[cell] += 1
            self.call_on_seat[seat] = (cell, True)
            complete = min(sc.complete * self.cell_factor[cell], 1.0)
            if rng.random() < complete:
                talk, outcome = rng.expovariate(1 / sc.complete_mean_s), 1.0
            else:
                talk, outcome = rng.expovariate(1 / sc.refusal_mean_s), 0.0
        self.wrap_of[seat] = rng.expovariate(1 / sc.wrap_mean_s)  # drawn now: foreseeable
        self.free_at[seat] = now + talk + self.wrap_of[seat]
        self._push(now + talk, TALK_END, seat, outcome)

    def _talk_end(self, now: float, seat: int, outcome: float) -> None:
        self.stats.talk_ended(now - self.since[seat])
        on_seat = self.call_on_seat[seat]
        assert on_seat is not None
        cell, reserved = on_seat
        self.call_on_seat[seat] = None
        if reserved:
            self.in_progress[cell] -= 1
        if outcome > 0:
            self.completes[cell] += 1
            self.cell_done[cell] += 1
        self._set(seat, WRAP, now)
        wrap = float(self.wrap_of[seat])
        self._push(now + wrap, WRAP_END, seat, wrap)

    def _wrap_end(self, now: float, seat: int, wrap: float) -> None:
        self.stats.wrap_ended(wrap)
        # due as the pacer and the oracle saw it: the wrap-up just finished counts
        if self.worked[seat] + (now - self.since[seat]) >= self.sc.break_every_min * 60:
            self.worked[seat] = 0.0
            self._set(seat, PAUSED, now)
            self.free_at[seat] = now + self.sc.break_length_min * 60
            self._push(self.free_at[seat], BREAK_END, seat)
            return
        self._set(seat, FREE, now)
        self._seat_free(now, seat)

    def _seat_free(self, now: float, seat: int) -> None:
        if self.waiting:  # the longest-waiting caller takes the seat
            ident = min(self.waiting, key=lambda i: self.waiting[i][0])
            answered_at, cell = self.waiting.pop(ident)
            self._connect(now, seat, cell, answered_at)

    def _set(self, seat: int, state: int, now: float) -> None:
        spent = now - self.since[seat]
        old = self.state[seat]
        if old != PAUSED:
            self.staffed_time[seat] += spent
            self.worked[seat] += spent
        if old in (TALK, WRAP):
            self.busy_time[seat] += spent
        self.state[seat] = state
        self.since[seat] = now
        if state == FREE:
            heapq.heappush(self.free_seats, (now, seat))

    # --- figures --------------------------------------------------------------------------

    def _result(self, wall: float) -> Result:
        for seat in range(self.sc.seats):  # close every seat's last stretch at the shift's end
            self._set(seat, int(self.state[seat]), self.end)
        live = len(self.live_log)
        return Result(
            scenario=self.sc.name,
            pacer=self.pacer.name,
            seed=self.seed,
            seats=self.sc.seats,
            occupancy=float(self.busy_time.sum() / max(self.sc.seats * self.end, 1e-9)),
            occupancy_staffed=float(self.busy_time.sum() / max(self.staffed_time.sum(), 1e-9)),
            abandon_rate=self.abandoned / live if live else 0.0,
            max_window_abandon_rate=worst_window(
                self.live_log, self.sc.abandon_window_min * 60, self.end
            ),
            dials=self.dials,
            answers=self.answers,
            abandoned=self.abandoned,
            amd_false_positives=self.false_positives,
            completes=sum(self.completes),
            target=sum(self.target),
            contacts_per_seat_hour=(live - self.abandoned) / (self.sc.seats * self.end / 3600),
            wait_p95_s=float(np.percentile(self.waits, 95)) if self.waits else 0.0,
            quota_overshoot=sum(
                max(0, c - t) for c, t in zip(self.completes, self.target, strict=True)
            ),
            sim_seconds_per_wall_second=self.end / max(wall, 1e-9),
        )


def _seen_at(now: float, delay: float) -> int:
    """The tick that first sees a dial placed at tick ``now`` ended after ``delay``, as the
    heap ordered it: an end on a later tick's time came before that tick (its event was
    queued first), an end on the next tick's time after it (that tick was queued first)."""
    end = now + delay
    return math.ceil(end) if delay > TICK_S else math.floor(end) + 1


def worst_window(live: list[tuple[float, bool]], window_s: float, end: float) -> float:
    """The highest abandon rate over any window of ``window_s`` (``(t - window_s, t]``) that
    ends within the shift, from the first whole one (the whole shift when it is shorter).
    A window's rate rises only as an abandon enters it or a put-through answer leaves it, so
    the windows ending at those moments are the ones to judge; whole minutes between missed
    bursts. A leaving answer's window starts at its own time, not at (t + W) - W, which
    floating point may put just before it."""
    if not live:
        return 0.0
    first = min(window_s, end)
    windows = [(first - window_s, first), (end - window_s, end)]
    for t, abandoned in live:
        start, stop = (t - window_s, t) if abandoned else (t, t + window_s)
        if first <= stop <= end:
            windows.append((start, stop))
    times = np.array([t for t, _ in live])
    dropped = np.cumsum([a for _, a in live])
    starts, stops = np.array(windows).T
    hi = np.searchsorted(times, stops, side="right")
    lo = np.searchsorted(times, starts, side="right")
    answers = hi - lo
    drops = np.where(hi > 0, dropped[np.maximum(hi - 1, 0)], 0) - np.where(
        lo > 0, dropped[np.maximum(lo - 1, 0)], 0
    )
    rates = np.where(answers > 0, drops / np.maximum(answers, 1), 0.0)
    return float(rates.max())


def simulate(scenario: Scenario, pacer: Pacer | Clairvoyant, seed: int) -> Result:
    return Simulation(scenario, pacer, seed).run()
