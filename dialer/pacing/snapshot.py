"""What a pacer sees at one moment: seats, calls in flight, and what recent calls were like."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dialer.pacing.stats import CallStats

Floats = NDArray[np.float64]


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
