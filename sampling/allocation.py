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
    if np.all(weights == np.round(weights)) and weight_sum * max(total, 1) < 2**62:
        # whole weights (head counts): exact remainders, so equal ones are equal and the
        # lower index wins, as documented (floats ordered some equal remainders otherwise)
        whole = weights.astype(np.int64)
        floor, remainder = np.divmod(total * whole, int(whole.sum()))
    else:
        exact = total * weights / weight_sum
        floor = np.floor(exact).astype(np.int64)
        remainder = exact - floor
    left = total - int(floor.sum())
    order = np.argsort(-remainder, kind="stable")
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
    ``minimum`` (or of its population, when that is smaller) is raised to it and the others
    are re-allocated.
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
    floors = np.minimum(minimum, population)  # a cell of 2 people cannot give 3 interviews
    floor_cells = np.zeros(len(population), dtype=bool)
    while True:
        share = populated & ~floor_cells
        held = int(floors[floor_cells].sum())
        if held > remaining:
            raise AllocationError(
                f"a minimum of {minimum} per cell over {int(populated.sum())} cells needs more "
                f"than the {remaining} interviews left after explicit targets"
            )
        rest = remaining - held
        weights = np.where(share, population, 0).astype(np.float64)
        shares = largest_remainder(rest, weights) if share.any() else np.zeros_like(targets)
        short = share & (shares < floors)
        if not short.any():
            break
        floor_cells |= short
    if not populated.any() and remaining:
        raise AllocationError(f"{remaining} interviews left for cells with no population")
    targets[floor_cells] = floors[floor_cells]
    targets[share] = shares[share]
    return targets
