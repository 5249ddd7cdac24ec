"""A wave's results in one value: outcome rates (overall and per cell), the weighting, the
estimates, and the previous wave's for comparison. Pure: the store's rows come in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from questionnaire.model import Questionnaire
from results.aapor import Counts, final_code, rates
from results.estimates import GROUPS, Estimate, Respondent, Weighting, estimates, weigh
from sampling.cells import CellKey

Key = tuple[str, str, str, str, str]
"""An estimate's identity across waves: question, answer, measure, group, value."""


@dataclass(frozen=True, slots=True)
class CellRates:
    cell: CellKey
    counts: Counts
    rates: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class OutcomeRates:
    """The wave's AAPOR counts and rates, and each cell's."""

    counts: Counts
    eligibility: float | None
    """``e``, by proportional allocation over the whole wave; the cells' rates use it too."""
    rates: dict[str, float | None]
    cells: tuple[CellRates, ...]


def outcome_rates(
    cases: Sequence[tuple[CellKey, Sequence[str]]], cells: Iterable[CellKey]
) -> OutcomeRates:
    """Rates from each released case's attempt codes, overall and by the case's frame cell."""
    finals: dict[CellKey, list[str]] = {}
    for cell, codes in cases:
        finals.setdefault(cell, []).append(final_code(codes))
    counts = Counts.of(code for codes in finals.values() for code in codes)
    e = counts.eligibility()
    by_cell = []
    for cell in cells:
        cell_counts = Counts.of(finals.get(cell, ()))
        by_cell.append(CellRates(cell, cell_counts, rates(cell_counts, e)))
    return OutcomeRates(counts, e, rates(counts, e), tuple(by_cell))


@dataclass(frozen=True, slots=True)
class WaveResults:
    survey: str
    wave: int
    questionnaire: Questionnaire
    outcomes: OutcomeRates
    weighting: Weighting | None
    """None when the wave has no respondents yet."""
    estimates: tuple[Estimate, ...]
    previous: Mapping[Key, float]
    """The previous wave's estimates, by key (empty when there is none)."""


def key(estimate: Estimate) -> Key:
    e = estimate
    return (e.question, e.answer, e.measure, e.group, e.value)


def summarise(
    survey: str,
    wave: int,
    questionnaire: Questionnaire,
    cases: Sequence[tuple[CellKey, Sequence[str]]],
    respondents: Sequence[Respondent],
    population: Mapping[CellKey, int],
    previous: Sequence[Estimate] = (),
) -> WaveResults:
    """Rates from each released case's attempt codes (by frame cell); estimates from the
    respondents raked to the population's district, age band and sex margins."""
    outcomes = outcome_rates(cases, population)
    weighting = weigh(respondents, margins(population)) if respondents else None
    found = estimates(questionnaire, respondents, weighting) if weighting else []
    return WaveResults(
        survey, wave, questionnaire, outcomes, weighting, tuple(found),
        {key(p): p.estimate for p in previous},
    )  # fmt: skip


def margins(population: Mapping[CellKey, int]) -> dict[str, dict[str, float]]:
    """The population's margin of each group, from the cells' populations."""
    found: dict[str, dict[str, float]] = {name: {} for name in GROUPS}
    for cell, people in population.items():
        for name in GROUPS:
            value = getattr(cell, name)
            found[name][value] = found[name].get(value, 0.0) + people
    return found
