"""Stratified random draws: without replacement within each cell, reproducible from a seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Draw:
    """Positions drawn into the candidate arrays, grouped by cell in canonical order."""

    positions: Ints
    per_cell: Ints


def draw_stratified(
    cell_of: npt.NDArray[np.integer],
    eligible: Bools,
    requested: Ints,
    rng: np.random.Generator,
) -> Draw:
    """Draw ``requested[c]`` eligible candidates from each cell ``c``, uniformly, no replacement.

    ``cell_of[i]`` is candidate i's cell and ``eligible[i]`` whether it may be drawn (in the frame,
    not released, not withdrawn, not on a do-not-call list). A cell with fewer eligible candidates
    than requested gives all it has. The result depends only on the arrays' order and the
    generator's state, so the same frame, state and seed give the same draw.

    Candidates already grouped by cell (as the store loads them) are drawn from in place, touching
    only the requested cells' slices; any other order is grouped first with a stable sort.
    """
    if len(cell_of) != len(eligible):
        raise ValueError(f"{len(cell_of)} cells for {len(eligible)} eligibility flags")
    n_cells = len(requested)
    order: Ints | None = None
    if len(cell_of) > 1 and not bool(np.all(cell_of[1:] >= cell_of[:-1])):
        order = np.argsort(cell_of, kind="stable").astype(np.int64)
        cell_of, eligible = cell_of[order], eligible[order]
    if len(cell_of) and (cell_of[0] < 0 or cell_of[-1] >= n_cells):
        raise ValueError(f"a candidate's cell is outside 0..{n_cells - 1}")
    bounds = np.searchsorted(cell_of, np.arange(n_cells + 1), side="left")
    taken = np.zeros(n_cells, dtype=np.int64)
    chosen: list[Ints] = []
    for cell in np.flatnonzero(requested > 0):
        start, end = int(bounds[cell]), int(bounds[cell + 1])
        members = start + np.flatnonzero(eligible[start:end])
        k = min(int(requested[cell]), len(members))
        if k:
            chosen.append(members[rng.choice(len(members), size=k, replace=False)])
            taken[cell] = k
    positions = np.concatenate(chosen).astype(np.int64) if chosen else np.zeros(0, np.int64)
    if order is not None:
        positions = order[positions]
    return Draw(positions, taken)
