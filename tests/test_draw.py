"""Stratified draws: uniform, without replacement, reproducible, within what each cell holds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from sampling.draw import draw_stratified


@st.composite
def frames(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n_cells = draw(st.integers(min_value=1, max_value=8))
    size = draw(st.integers(min_value=0, max_value=300))
    cells = np.array(draw(st.lists(st.integers(0, n_cells - 1), min_size=size, max_size=size)))
    eligible = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool)
    requested = np.array(draw(st.lists(st.integers(0, 80), min_size=n_cells, max_size=n_cells)))
    seed = draw(st.integers(min_value=0, max_value=2**32))
    return cells.astype(np.int16), eligible, requested.astype(np.int64), seed


@given(frames())
@settings(max_examples=300)
def test_draw_takes_only_eligible_distinct_numbers_within_each_cell(
    frame: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    """No ineligible (released, withdrawn, DNC) or duplicate pick; never more than asked or held."""
    cells, eligible, requested, seed = frame
    result = draw_stratified(cells, eligible, requested, np.random.default_rng(seed))
    positions = result.positions
    assert len(set(positions.tolist())) == len(positions)
    assert bool(np.all(eligible[positions]))
    held = np.bincount(cells[eligible], minlength=len(requested))
    got = np.bincount(cells[positions], minlength=len(requested))
    assert got.tolist() == result.per_cell.tolist()
    assert np.minimum(requested, held).tolist() == got.tolist()


@given(frames())
def test_same_seed_gives_the_same_draw(
    frame: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    """The same frame, state and seed give the same release."""
    cells, eligible, requested, seed = frame
    first = draw_stratified(cells, eligible, requested, np.random.default_rng(seed))
    again = draw_stratified(cells, eligible, requested, np.random.default_rng(seed))
    assert first.positions.tolist() == again.positions.tolist()


def test_grouped_and_interleaved_frames_draw_the_same_numbers_per_seed() -> None:
    """The fast path for frames grouped by cell selects exactly as the general path does."""
    rng = np.random.default_rng(7)
    cells = rng.integers(0, 5, 1000).astype(np.int16)
    eligible = rng.random(1000) < 0.8
    requested = np.array([10, 0, 30, 5, 200])
    order = np.argsort(cells, kind="stable")
    grouped = draw_stratified(cells[order], eligible[order], requested, np.random.default_rng(3))
    interleaved = draw_stratified(cells, eligible, requested, np.random.default_rng(3))
    assert order[grouped.positions].tolist() == interleaved.positions.tolist()


def test_selection_within_a_cell_is_uniform() -> None:
    """Each eligible member of a cell is drawn equally often (chi-square, fixed seed)."""
    members = 50
    cells = np.zeros(members, dtype=np.int16)
    eligible = np.ones(members, dtype=bool)
    eligible[[3, 17]] = False  # ineligible members must never count
    counts = np.zeros(members, dtype=np.int64)
    rng = np.random.default_rng(20261123)
    for _ in range(4000):
        picks = draw_stratified(cells, eligible, np.array([5]), rng).positions
        counts[picks] += 1
    assert 0 == counts[3] + counts[17]
    observed = counts[eligible]
    assert 4000 * 5 == int(observed.sum())
    result = chisquare(observed)
    assert result.pvalue > 0.001, result


def test_a_small_draw_is_not_biased_toward_the_start_of_the_cell() -> None:
    """First and second halves of a large cell are drawn from about equally (fixed seed)."""
    cells = np.zeros(100_000, dtype=np.int16)
    eligible = np.ones(100_000, dtype=bool)
    picks = draw_stratified(cells, eligible, np.array([2000]), np.random.default_rng(1)).positions
    first_half = int((picks < 50_000).sum())
    assert 900 < first_half < 1100
