"""Sizing a release: how many numbers each open cell needs, at its expected yield."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sampling.quota import QuotaState

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def release_sizes(
    quota: QuotaState, expected_yield: Floats, outstanding: Ints, available: Ints
) -> Ints:
    """Numbers to release per cell.

    A cell needs ``ceil(need / yield)`` numbers in play to expect to fill; the numbers already
    released and still unfinished (``outstanding``) count toward that, so a release only tops
    up. Closed cells get none, and no cell gets more than it has ``available`` in the frame.
    """
    wanted = np.ceil(quota.need / expected_yield - 1e-9).astype(np.int64)
    sizes = np.maximum(wanted - outstanding, 0)
    sizes = np.where(quota.closed, 0, sizes)
    return np.minimum(sizes, available)


def thin_cells(target: Ints, expected_yield: Floats, available: Ints) -> npt.NDArray[np.bool_]:
    """Cells whose frame is too thin for their target at the expected yield."""
    return np.asarray(available * expected_yield < target)
