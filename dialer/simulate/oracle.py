"""The oracle: a pacer that knows the future of the simulation, the reference for the others.

It sees each call's fate before dialling it (whether and when a person answers), when each
busy seat will be free (talk and wrap-up are drawn at connect) and which seats go on a break
after their call. Each second it dials, cell by cell in order of need, every call that will
not be answered (they cost only a line) and every call whose answer will find a seat free
and not promised to an earlier answer; it stops a cell at the first answer that would have
to wait. It never abandons a call it puts through nor lets an answer wait (a person that
answering-machine detection hangs up on, in a scenario that has them, is abandoned all the
same: the oracle dials such a call as any other that no seat has to take). That makes it a
strong reference, not a strict upper bound: it seats answers cell by cell, not in the best
order, and a pacer spending the 3% allowance on purpose could keep seats a little busier. It
runs only in the simulator: a live dialer cannot know these things.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from dialer.pacing.cells import room
from dialer.pacing.registry import PACERS, Pacer, make_pacer
from dialer.simulate.engine import ANSWER, FREE, PAUSED, Simulation


@dataclass
class Oracle:
    """Dials with foresight (see the module's docstring)."""

    name: str = "oracle"

    def dials(self, sim: Simulation, now: float) -> list[int]:
        open_at = _seats_open(sim, now)
        for answer in sorted(sim.answer_at.values()):  # calls out keep the seats they need
            _take(open_at, answer)
        lines = sim.lines_free()
        needs = sim.needs()
        order = sorted(
            (i for i, need in enumerate(needs) if room(need) > 0),
            key=lambda i: -needs[i].remaining / max(needs[i].per_dial, 1e-9),
        )
        chosen: list[int] = []
        for cell in order:
            for index in range(room(needs[cell])):
                if lines <= 0:
                    return chosen
                kind, delay = sim.peek(cell, index)
                if kind == ANSWER and not _take(open_at, now + delay):
                    break  # this person would wait: not yet
                chosen.append(cell)
                lines -= 1
        return chosen


def _seats_open(sim: Simulation, now: float) -> list[float]:
    """When each seat can next take a callee, sorted (free seats: now)."""
    every = sim.sc.break_every_min * 60
    times = []
    for seat in range(sim.sc.seats):
        state = int(sim.state[seat])
        if state == FREE:
            times.append(now)
        elif state == PAUSED:
            times.append(float(sim.free_at[seat]))
        else:  # talking or wrapping: free then, unless the seat's break falls due first
            at = float(sim.free_at[seat])
            if sim.worked[seat] + (at - sim.since[seat]) >= every:
                at += sim.sc.break_length_min * 60
            times.append(at)
    times.sort()
    return times


def _take(open_at: list[float], answer: float) -> bool:
    """Promise the answer at ``answer`` the seat opening last by then, keeping the earlier
    ones for answers before it; False if none is open by then. The answers come in cell
    order, not in time: taking the earliest seat turned away an answer at 5 s when seats
    opened at 0 and 15 and an answer at 20 s had taken the first. With nested choices (any
    seat open by then) this greedy fits as many answers as can be fitted. The simulator
    still seats each caller on the seat waiting longest: that seats the same answers."""
    index = bisect.bisect_right(open_at, answer) - 1
    if index < 0:
        return False
    del open_at[index]
    return True


SIMULATED_PACERS = [*PACERS, "oracle"]
"""What the simulator can run: the live pacers, and the oracle."""


def simulated_pacer(name: str) -> Pacer | Oracle:
    """A pacer by name, the oracle included; ValueError naming the choices otherwise."""
    if name == "oracle":
        return Oracle()
    try:
        return make_pacer(name)
    except ValueError:
        raise ValueError(f"pacer {name!r} is not one of {', '.join(SIMULATED_PACERS)}") from None
