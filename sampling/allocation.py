"""Proportional allocation of interviews to cells, rounded by largest remainder."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sampling.errors import SamplingError

Ints = npt.NDArray[np.int64]


class AllocationError(SamplingError):
    """The targets cannot be met (overrides or minimums exceed the total)."""


def largest_remainder(total: int, weights: npt.NDArray[np.float64]) -> Ints:
    """Split ``total`` in proportion to ``weights`` into integers that sum to ``total``.

    Each share is its exact quota rounded down, and the units left over go to the largest
    fractional parts (ties to the lower index, so the result is deterministic).
    """
    if total < 0:
        raise AllocationError(f"cannot allocate a negative total ({total})")
    weight_sum = float(weights.sum())
    if total == 0 or weight_sum <= 0:
        if total and weight_sum <= 0:
            raise AllocationError(f"cannot allocate {total} over cells that all weigh zero")
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weight_sum
    floor = np.floor(exact).astype(np.int64)
    left = total - int(floor.sum())
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:left]] += 1
    return floor


def allocate(
    total: int,
    population: Ints,
    minimum: int = 0,
    fixed: dict[int, int] | None = None,
) -> Ints:
    """Targets per cell summing exactly to ``total``.

    ``fixed`` pins chosen cells to explicit targets; the rest is allocated in proportion to
    population with largest-remainder rounding, where a populated cell whose share falls short of
    ``minimum`` is raised to it and the others are re-allocated.
    """
    fixed = fixed or {}
    targets = np.zeros(len(population), dtype=np.int64)
    free = np.ones(len(population), dtype=bool)
    for index, value in fixed.items():
        targets[index] = value
        free[index] = False
    remaining = total - int(targets.sum())
    if remaining < 0:
        raise AllocationError(
            f"explicit targets sum to {int(targets.sum())}, more than the {total} interviews"
        )
    populated = free & (population > 0)
    floor_cells = np.zeros(len(population), dtype=bool)
    while True:
        share = populated & ~floor_cells
        if minimum * int(floor_cells.sum()) > remaining:
            raise AllocationError(
                f"a minimum of {minimum} per cell over {int(populated.sum())} cells needs more "
                f"than the {remaining} interviews left after explicit targets"
            )
        rest = remaining - minimum * int(floor_cells.sum())
        weights = np.where(share, population, 0).astype(np.float64)
        shares = largest_remainder(rest, weights) if share.any() else np.zeros_like(targets)
        short = share & (shares < minimum)
        if not short.any():
            break
        floor_cells |= short
    if not populated.any() and remaining:
        raise AllocationError(f"{remaining} interviews left for cells with no population")
    targets[floor_cells] = minimum
    targets[share] = shares[share]
    return targets
