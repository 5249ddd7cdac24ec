"""Raking (iterative proportional fitting): weights that make the sample's weighted margins
equal the population's, one variable at a time until every margin holds. Pure, numpy.

Also the weights' design effect (Kish's 1 + CV^2) and the margin of error it implies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Weights = npt.NDArray[np.float64]


class RakingError(ValueError):
    """The sample cannot be raked to these margins; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Raked:
    """Weights (summing to the population) and how they were reached."""

    weights: Weights
    iterations: int
    max_error: float
    """The largest relative gap between a weighted margin and its target, at the end."""


def rake(
    sample: Mapping[str, Sequence[str]],
    margins: Mapping[str, Mapping[str, float]],
    tolerance: float = 1e-12,
    max_iterations: int = 1000,
    base: Sequence[float] | None = None,
) -> Raked:
    """Weights for each respondent so that, for every variable in ``margins``, the weighted
    count of each category equals the margin's (scaled to the first variable's total).

    ``sample`` holds one column per variable, one value per respondent; ``base`` weights
    (default 1) are the starting point. Raises ``RakingError`` naming the variable and
    category when a margin cannot be met (a category with no respondent, a value with no
    margin, margins with different totals) or when the fit does not converge.
    """
    columns = _columns(sample, margins)
    n = len(next(iter(columns.values())))
    weights = np.ones(n) if base is None else np.asarray(base, dtype=np.float64).copy()
    if weights.shape != (n,) or (weights <= 0).any():
        raise RakingError(f"base weights must be {n} positive numbers")
    targets = _targets(columns, margins)
    error = np.inf
    for iteration in range(1, max_iterations + 1):
        for index, wanted in targets.values():
            totals = np.bincount(index, weights=weights, minlength=len(wanted))
            weights *= (wanted / totals)[index]
        error = _max_error(weights, targets)
        if error <= tolerance:
            return Raked(weights, iteration, error)
    raise RakingError(
        f"did not converge in {max_iterations} iterations (margins off by {error:.2e})"
    )


def design_effect(weights: Sequence[float] | Weights) -> float:
    """Kish's design effect of unequal weights: n * sum(w^2) / sum(w)^2 = 1 + CV^2."""
    w = np.asarray(weights, dtype=np.float64)
    return float(len(w) * (w**2).sum() / w.sum() ** 2)


def margin_of_error(
    proportion: float, n: int, deff: float = 1.0, confidence_z: float = 1.959964
) -> float:
    """Half-width of the confidence interval of an estimated proportion (95% by default),
    from ``n`` respondents and the weights' design effect."""
    if n < 1:
        raise ValueError("no respondents")
    return confidence_z * float(np.sqrt(deff * proportion * (1 - proportion) / n))


def _columns(
    sample: Mapping[str, Sequence[str]], margins: Mapping[str, Mapping[str, float]]
) -> dict[str, list[str]]:
    if not margins:
        raise RakingError("no margins to rake to")
    columns = {}
    for name in margins:
        if name not in sample:
            raise RakingError(f"{name}: the sample has no such variable")
        columns[name] = [str(value) for value in sample[name]]
    lengths = {len(column) for column in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise RakingError("every variable needs one value per respondent, and respondents")
    return columns


def _targets(
    columns: Mapping[str, list[str]], margins: Mapping[str, Mapping[str, float]]
) -> dict[str, tuple[npt.NDArray[np.intp], Weights]]:
    """Per variable: each respondent's category index, and the categories' target totals."""
    targets = {}
    total: float | None = None
    for name, column in columns.items():
        margin = margins[name]
        categories = list(margin)
        wanted = np.array([float(margin[c]) for c in categories])
        if (wanted <= 0).any():
            empty = categories[int(np.argmin(wanted))]
            raise RakingError(f"{name}={empty}: a margin must be positive")
        if total is None:
            total = float(wanted.sum())
        elif not np.isclose(wanted.sum(), total, rtol=1e-9):
            raise RakingError(f"{name}: its margin totals {wanted.sum():g}, the first {total:g}")
        position = {category: k for k, category in enumerate(categories)}
        unknown = sorted(set(column) - set(position))
        if unknown:
            raise RakingError(f"{name}={unknown[0]}: a respondent's value with no margin")
        index = np.array([position[value] for value in column], dtype=np.intp)
        missing = [categories[k] for k in range(len(categories)) if not (index == k).any()]
        if missing:
            raise RakingError(f"{name}={missing[0]}: no respondent in this category")
        targets[name] = (index, wanted)
    return targets


def _max_error(
    weights: Weights, targets: Mapping[str, tuple[npt.NDArray[np.intp], Weights]]
) -> float:
    return max(
        float(np.abs(np.bincount(index, weights=weights, minlength=len(wanted)) / wanted - 1).max())
        for index, wanted in targets.values()
    )
