"""Quota-aware launches: share a pacer's count over the quota cells (pure).

Each cell gets launches in proportion to the dials it still needs (remaining completes over its
expected completes per dial), and never more calls out than its remaining completes can use
at that yield, so calls in flight cannot push a cell past its target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple


class CellNeed(NamedTuple):
    """One cell's need (a tuple: the simulator builds a dozen every virtual second)."""

    remaining: int
    """Target less completes and interviews in progress."""
    per_dial: float
    """Expected completes per dial (the cell's yield)."""
    in_flight: int
    """Calls out for the cell now."""
    available: int
    """Numbers of the cell that may be dialled now."""


def room(cell: CellNeed) -> int:
    """More calls the cell can take now."""
    remaining, per_dial, in_flight, available = cell  # unpacked: 12 cells a virtual second
    if remaining <= 0 or available <= 0:
        return 0
    if per_dial <= 0:
        return available
    # floor: the calls out's expected completes stay within what remains (ceil let one call
    # too many out: 4 at a yield of 0.3 for 1 complete to go); a cell with any to go and a
    # yield of at most 1 still gets a call
    useful = math.floor(remaining / per_dial) - in_flight
    if useful > available:
        return available
    return useful if useful > 0 else 0


def spread(count: int, cells: Sequence[CellNeed]) -> list[int]:
    """Launches per cell, summing to at most ``count`` (less when the cells cannot use more):
    in proportion to each cell's weight (the dials it still needs), within its room; what
    whole shares leave goes one by one to the largest shares."""
    rooms = list(map(room, cells))
    wanted = sum(rooms)
    if count >= wanted:  # every cell's room: what the shares below come to
        return rooms
    given = [0] * len(cells)
    weights = [c.remaining / c.per_dial if c.per_dial > 0 else c.remaining for c in cells]
    open_cells = [i for i, r in enumerate(rooms) if r > 0]
    left = count
    while left > 0:
        total = sum([weights[i] for i in open_cells]) or len(open_cells)
        shares = [left * weights[i] / total for i in open_cells]  # ideal shares of what is left
        steps = (
            [min(int(s), rooms[i] - given[i]) for i, s in zip(open_cells, shares, strict=True)]
            if max(shares) >= 1.0
            else []  # no whole share
        )
        handed = sum(steps)
        if handed == 0:  # one by one, the largest share first (the lowest cell of equals)
            for _, i in sorted(zip([-s for s in shares], open_cells, strict=True))[:left]:
                given[i] += 1
            handed = min(left, len(open_cells))
        else:
            for i, k in zip(open_cells, steps, strict=True):
                given[i] += k
        left -= handed
        if left > 0:
            open_cells = [i for i in open_cells if given[i] < rooms[i]]
    return given
