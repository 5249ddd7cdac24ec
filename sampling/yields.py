"""Expected yield per cell: completes per number released (releases) or per dial (pacing),
shrunk toward a prior."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sampling.survey import YieldPrior

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def estimate_yield(completes: Ints, trials: Ints, prior: YieldPrior) -> Floats:
    """Posterior mean yield per cell: ``(completes + s*p) / (trials + s)``.

    ``trials``: released numbers that reached a final result (releases' yield per number), or
    ended dials (pacing's yield per dial); ``completes``: the completes among them. The prior
    acts as ``s`` trials at yield ``p``, so a cell with few trials stays near the prior and a
    cell with many follows its own rate.
    """
    s = prior.strength
    numerator = completes.astype(np.float64) + s * prior.prior
    denominator = trials.astype(np.float64) + s
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(
            denominator > 0, numerator / np.maximum(denominator, 1e-12), prior.prior
        )
    # A cell that has yielded nothing at all must still be worth releasing into, never infinite.
    return np.clip(estimate, 1e-3, 1.0)
