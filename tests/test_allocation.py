"""Proportional allocation with largest-remainder rounding, minimums and overrides."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sampling.allocation import AllocationError, allocate, largest_remainder

populations = st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=120)


@given(total=st.integers(min_value=0, max_value=100_000), population=populations)
def test_allocation_sums_to_total_and_stays_within_one_of_exact_share(
    total: int, population: list[int]
) -> None:
    """Targets sum exactly to the total and each is within 1 of its exact proportional share."""
    pop = np.array(population, dtype=np.int64)
    if pop.sum() == 0 and total > 0:
        with pytest.raises(AllocationError):
            allocate(total, pop)
        return
    targets = allocate(total, pop)
    assert total == int(targets.sum())
    exact = total * pop / pop.sum() if pop.sum() else np.zeros(len(pop))
    assert bool(np.all(np.abs(targets - exact) < 1.0))


@given(
    total=st.integers(min_value=0, max_value=5_000),
    population=populations,
    minimum=st.integers(min_value=0, max_value=20),
)
def test_minimum_per_cell_is_met_and_total_kept(
    total: int, population: list[int], minimum: int
) -> None:
    """Every populated cell gets at least the minimum (or its whole population, when that is
    smaller), and the total is still exact."""
    pop = np.array(population, dtype=np.int64)
    floors = np.minimum(minimum, pop)
    try:
        targets = allocate(total, pop, minimum=minimum)
    except AllocationError:
        assert int(floors[pop > 0].sum()) > total or pop.sum() == 0
        return
    assert total == int(targets.sum())
    assert bool(np.all(targets[pop > 0] >= floors[pop > 0]))
    assert bool(np.all(targets[pop == 0] == 0))


def test_a_minimum_asks_no_cell_for_more_people_than_it_has() -> None:
    """A one-person cell cannot give three interviews: its minimum is its population, and
    the large cell gets the rest."""
    assert [1, 2, 7, 0] == allocate(10, np.array([1, 2, 1000, 0]), minimum=3).tolist()


def test_equal_remainders_go_to_the_lower_cell_as_documented() -> None:
    """Exact remainders: 98 over these head counts leaves the first three cells a third
    each and one unit over; it goes to the first, where float division gave it to the
    second."""
    weights = np.array([35, 14, 23, 33, 6, 36], dtype=np.float64)
    assert [24, 9, 15, 22, 4, 24] == largest_remainder(98, weights).tolist()


def test_overrides_pin_cells_and_the_rest_is_proportional() -> None:
    """An explicit target is kept as is and the remaining interviews follow population."""
    targets = allocate(100, np.array([10, 30, 60]), fixed={0: 40})
    assert [40, 20, 40] == targets.tolist()


def test_overrides_beyond_total_name_the_problem() -> None:
    """Overrides that exceed the interviews are refused with a message saying so."""
    with pytest.raises(AllocationError, match="more than the 10 interviews"):
        allocate(10, np.array([1, 1]), fixed={0: 11})


def test_largest_remainder_breaks_ties_deterministically() -> None:
    """Equal remainders go to the lower index, so the same inputs give the same targets."""
    assert [1, 1, 0] == largest_remainder(2, np.array([1.0, 1.0, 1.0])).tolist()
