"""What a pacer sees at one moment: seats, calls in flight, and what recent calls were like."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dialer.pacing.stats import CallStats

Floats = NDArray[np.float64]

GRACE_S = 1.5
"""The longest after a person's answer that a seat coming free still takes the callee, without
answering-machine detection: the dialplan plays the abandon message at 2 s and the dialer's
Redirect must land before it (the runner's cut-off, ``LATEST_SEAT_S``). A pacer counting the
whole 2 s overflows more often live than it plans to."""


def _none() -> Floats:
    return np.zeros(0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The dialer's state at ``now`` (seconds on any monotonic scale)."""

    now: float
    free: int
    """Seats ready for a call."""
    talk_elapsed: Floats = field(default_factory=_none)
    """Seconds each seat on a call has been talking."""
    wrap_elapsed: Floats = field(default_factory=_none)
    """Seconds each seat in wrap-up has been wrapping up."""
    ring_elapsed: Floats = field(default_factory=_none)
    """Seconds each call in flight (dialled, not yet answered) has been out."""
    waiting: int = 0
    """Answered callers waiting for a seat."""
    paused: int = 0
    """Seats logged in but on a break."""
    channel_room: int = 10**9
    """Trunk channels still free."""
    grace_s: float = GRACE_S
    """The longest after a person's answer that a seat coming free still takes the callee
    (the dialer's cut-off: shorter with answering-machine detection, whose verdict comes
    after the greeting the 2 s count from)."""
    stats: CallStats = field(default_factory=CallStats)

    @property
    def busy(self) -> int:
        return len(self.talk_elapsed)

    @property
    def in_flight(self) -> int:
        return len(self.ring_elapsed)

    @property
    def staffed(self) -> int:
        """Seats logged in and not on a break."""
        return self.free + self.busy + len(self.wrap_elapsed)
