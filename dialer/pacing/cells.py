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
    if cell.remaining <= 0 or cell.available <= 0:
        return 0
    if cell.per_dial <= 0:
        return cell.available
    # floor: the calls out's expected completes stay within what remains (ceil let one call
    # too many out: 4 at a yield of 0.3 for 1 complete to go); a cell with any to go and a
    # yield of at most 1 still gets a call
    useful = math.floor(cell.remaining / cell.per_dial) - cell.in_flight
    return max(0, min(useful, cell.available))


def spread(count: int, cells: Sequence[CellNeed]) -> list[int]:
    """Launches per cell, summing to at most ``count`` (less when the cells cannot use more):
    in proportion to each cell's weight (the dials it still needs), within its room; what
    whole shares leave goes one by one to the largest shares."""
    rooms = [room(c) for c in cells]
    given = [0] * len(cells)
    left = min(count, sum(rooms))
    weights = [c.remaining / c.per_dial if c.per_dial > 0 else c.remaining for c in cells]
    while left > 0:
        open_cells = [i for i, r in enumerate(rooms) if given[i] < r]
        total = sum([weights[i] for i in open_cells]) or len(open_cells)
        shares = [left * weights[i] / total for i in open_cells]  # ideal shares of what is left
        steps = [min(int(s), rooms[i] - given[i]) for i, s in zip(open_cells, shares, strict=True)]
        handed = sum(steps)
        if handed == 0:  # one by one, the largest share first (the lowest cell of equals)
            ranked = sorted(range(len(open_cells)), key=lambda j: (-shares[j], open_cells[j]))
            for j in ranked[:left]:
                steps[j] = 1
            handed = min(left, len(open_cells))
        for i, k in zip(open_cells, steps, strict=True):
            given[i] += k
        left -= handed
    return given
