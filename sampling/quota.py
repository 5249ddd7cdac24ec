"""Quota state per cell: target, completes, interviews in progress, open or closed.

Pure bookkeeping over arrays indexed by cell. Interviews in progress reserve a place in their
cell, so a cell never overshoots because several interviews finish at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class QuotaState:
    """Quota bookkeeping for every cell of a wave, in canonical cell order."""

    target: Ints
    completes: Ints
    in_progress: Ints
    allowance: int = 0
    """Completes a cell may take beyond its target (0 for hard quotas)."""

    @property
    def cap(self) -> Ints:
        return self.target + self.allowance

    @property
    def closed(self) -> Bools:
        """A cell closes when its completes reach its target."""
        return self.completes >= self.target

    @property
    def need(self) -> Ints:
        """Completes still to find: target minus completes minus interviews in progress."""
        need: Ints = np.maximum(self.target - self.completes - self.in_progress, 0)
        return need

    def can_admit(self, cell: int) -> bool:
        """Whether a new interview may start (be reserved) in ``cell``."""
        return bool(self.completes[cell] + self.in_progress[cell] < self.cap[cell])


def reserve(state: QuotaState, cell: int) -> QuotaState:
    """An interview starts in ``cell``; the caller checks ``can_admit`` first."""
    return replace(state, in_progress=_bump(state.in_progress, cell, 1))


def unreserve(state: QuotaState, cell: int) -> QuotaState:
    """An interview in ``cell`` ended without a complete."""
    return replace(state, in_progress=_bump(state.in_progress, cell, -1))


def complete(state: QuotaState, reserved: int, verified: int) -> QuotaState:
    """An interview reserved in ``reserved`` completed; it counts in its ``verified`` cell."""
    return replace(
        state,
        in_progress=_bump(state.in_progress, reserved, -1),
        completes=_bump(state.completes, verified, 1),
    )


def newly_closed(before: QuotaState, after: QuotaState) -> list[int]:
    """Cells that a transition closed (their undialled numbers are to be withdrawn)."""
    return [int(i) for i in np.flatnonzero(after.closed & ~before.closed)]


def _bump(values: Ints, cell: int, delta: int) -> Ints:
    out = values.copy()
    out[cell] += delta
    if out[cell] < 0:
        raise ValueError(f"cell {cell}: count would go negative")
    return out
