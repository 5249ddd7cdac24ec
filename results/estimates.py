"""Weighted estimates per question, overall and by district, age band and sex. Pure.

Each respondent weighs as raking to the population margins made them (``raking.rake``); a
question's base is the respondents its routing asked. Shares carry a 95% margin of error
widened by the weights' design effect; grid rows give a weighted mean rating.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from questionnaire.model import YES_NO, Item, Kind, Questionnaire
from results.raking import RakingError, Weights, design_effect, margin_of_error, rake

GROUPS = ("district", "age_band", "sex")
"""The variables results are broken down by, and raked to."""


@dataclass(frozen=True, slots=True)
class Respondent:
    """One anonymous response: the respondent's cell labels and answers."""

    district: str
    age_band: str
    sex: str
    answers: Mapping[str, Any]

    def group(self, name: str) -> str:
        value: str = getattr(self, name)
        return value


@dataclass(frozen=True, slots=True)
class Estimate:
    """One figure: a share of an option (or of yes), or a grid row's mean rating."""

    question: str
    answer: str  # an option's code, "yes", or a grid row's code
    measure: str  # "share" or "mean"
    group: str  # "all", or one of GROUPS
    value: str  # the group's category ("all" for everyone)
    estimate: float
    moe: float
    """Half-width of the 95% confidence interval, with the design effect of the weights of
    the respondents it is estimated from."""
    base: int
    """Respondents asked the question, in the group."""


@dataclass(frozen=True, slots=True)
class Weighting:
    weights: Weights
    iterations: int
    design_effect: float
    unrepresented: tuple[str, ...] = ()
    """Categories with no respondent (e.g. ``district=C1``), left out of their margin."""
    variables: tuple[str, ...] = GROUPS
    """The margins the weights meet: all of them unless the sample cannot (see ``weigh``)."""


def weigh(
    respondents: Sequence[Respondent], margins: Mapping[str, Mapping[str, float]]
) -> Weighting:
    """Rake the respondents to ``margins`` (variable -> category -> population).

    A category no respondent belongs to (early in the field, or a small wave) cannot be
    weighted up: it is left out of its margin, which is scaled back to the population, so
    the others stand for it; ``unrepresented`` names it. A sample so sparse that no weights
    meet every margin (e.g. women only among the young, while young people are fewer than
    women) is raked to as many margins as it can meet, in ``GROUPS`` order, and
    ``variables`` says which; with none, every respondent weighs the same."""
    sample = {name: [r.group(name) for r in respondents] for name in margins}
    total = sum(next(iter(margins.values())).values())
    kept: dict[str, dict[str, float]] = {}
    missing = []
    for name, margin in margins.items():
        present = set(sample[name])
        missing += [f"{name}={c}" for c in margin if c not in present]
        covered = {c: v for c, v in margin.items() if c in present}
        scale = total / sum(covered.values()) if covered else 1.0
        kept[name] = {c: v * scale for c, v in covered.items()}
    names = list(kept)
    for size in range(len(names), 0, -1):
        for chosen in itertools.combinations(names, size):
            try:
                raked = rake(sample, {name: kept[name] for name in chosen})
            except RakingError:
                continue
            deff = design_effect(raked.weights)
            return Weighting(raked.weights, raked.iterations, deff, tuple(missing), chosen)
    flat = np.full(len(respondents), total / len(respondents))
    return Weighting(flat, 0, 1.0, tuple(missing), ())


def estimates(
    questionnaire: Questionnaire, respondents: Sequence[Respondent], weighting: Weighting
) -> list[Estimate]:
    """Every question's figures, overall and within each category of each group."""
    groups: list[tuple[str, str, np.ndarray[Any, np.dtype[np.bool_]]]] = [
        ("all", "all", np.ones(len(respondents), dtype=bool))
    ]
    for name in GROUPS:
        values = np.array([r.group(name) for r in respondents])
        groups += [(name, value, values == value) for value in sorted(set(values.tolist()))]
    found: list[Estimate] = []
    for item in questionnaire.questions:
        for group, value, members in groups:
            found += _item_estimates(item, respondents, weighting, group, value, members)
    return found


def _item_estimates(
    item: Item,
    respondents: Sequence[Respondent],
    weighting: Weighting,
    group: str,
    value: str,
    members: np.ndarray[Any, np.dtype[np.bool_]],
) -> Iterable[Estimate]:
    asked = [n for n, r in enumerate(respondents) if members[n] and item.id in r.answers]
    if not asked or item.kind is Kind.TEXT:
        return []
    w = weighting.weights[asked]
    answers = [respondents[n].answers[item.id] for n in asked]
    # Kish's design effect of the base's own weights: within a district or an age band the
    # raked weights vary little, and the whole sample's would overstate their margins
    deff = design_effect(w)

    def share(answer: str, chosen: Iterable[bool]) -> Estimate:
        hit = np.fromiter(chosen, dtype=bool, count=len(answers))
        p = float(w[hit].sum() / w.sum())
        moe = margin_of_error(p, len(asked), deff)
        return Estimate(item.id, answer, "share", group, value, p, moe, len(asked))

    if item.kind is Kind.SINGLE:
        return [share(o.code, (a == o.code for a in answers)) for o in item.options]
    if item.kind is Kind.MULTIPLE:
        return [share(o.code, (o.code in a for a in answers)) for o in item.options]
    if item.kind is Kind.YES_NO_BECAUSE:
        return [share(YES_NO[0], (a["answer"] == YES_NO[0] for a in answers))]
    found = []
    for row in item.options:  # a grid
        ratings = np.array([a[row.code] for a in answers], dtype=np.float64)
        mean = float(np.average(ratings, weights=w))
        variance = float(np.average((ratings - mean) ** 2, weights=w))
        moe = 1.959964 * float(np.sqrt(deff * variance / len(asked)))
        found.append(Estimate(item.id, row.code, "mean", group, value, mean, moe, len(asked)))
    return found
