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
    useful = math.ceil(cell.remaining / cell.per_dial) - cell.in_flight
    return max(0, min(useful, cell.available))


def spread(count: int, cells: Sequence[CellNeed]) -> list[int]:
    """Launches per cell, summing to at most ``count`` (less when the cells cannot use more)."""
    rooms = [room(c) for c in cells]
    weights = [c.remaining / c.per_dial if c.per_dial > 0 else c.remaining for c in cells]
    given = [0] * len(cells)
    left = min(count, sum(rooms))
    while left > 0:
        open_cells = [i for i, r in enumerate(rooms) if given[i] < r]
        total = sum(weights[i] for i in open_cells) or len(open_cells)
        shares = {
            i: left * (weights[i] if total else 1) / total for i in open_cells
        }  # ideal shares of what is left
        step = {i: min(int(shares[i]), rooms[i] - given[i]) for i in open_cells}
        if sum(step.values()) == 0:  # hand out one by one, the largest share first
            for i in sorted(open_cells, key=lambda i: (-shares[i], i))[:left]:
                step[i] = 1
        for i, k in step.items():
            given[i] += k
        left -= sum(step.values())
    return given
