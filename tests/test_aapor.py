"""AAPOR outcome rates from final disposition codes, against published worked examples."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from dialer.disposition import AAPOR_BY_DISPOSITION, AAPOR_BY_OUTCOME
from results.aapor import NOT_DIALLED, RATES, Category, Counts, category, final_code, rates

# ropensci/outcomerate, tests/testthat/test-rate.R: 16 cases, e = 0.5, exact fractions.
UNIT_COUNTS = Counts(i=5, p=3, r=2, nc=1, o=2, uh=1, uo=1, ne=1)
UNIT_RATES = {
    "RR1": F(1, 3), "RR2": F(8, 15), "RR3": F(5, 14), "RR4": F(4, 7), "RR5": F(5, 13),
    "RR6": F(8, 13), "COOP1": F(5, 12), "COOP2": F(2, 3), "COOP3": F(1, 2), "COOP4": F(4, 5),
    "REF1": F(2, 15), "REF2": F(1, 7), "REF3": F(2, 13), "CON1": F(4, 5), "CON2": F(6, 7),
    "CON3": F(12, 13),
}  # fmt: skip

# ropensci/outcomerate's vignette (intro-to-outcomerate): e by proportional allocation,
# 1447/1518; the rates it prints to 8 decimals.
VIGNETTE_COUNTS = Counts(i=760, p=339, r=59, nc=288, o=1, uo=173, ne=71)
VIGNETTE_RATES = {
    "RR1": 0.46913580, "RR2": 0.67839506, "RR3": 0.47149080, "RR4": 0.68180052,
    "RR5": 0.52522460, "RR6": 0.75950242, "COOP1": 0.65573770, "COOP2": 0.94823123,
    "COOP3": 0.65630397, "COOP4": 0.94905009, "REF1": 0.03641975, "REF2": 0.03660258,
    "REF3": 0.04077402, "CON1": 0.71543210, "CON2": 0.71902347, "CON3": 0.80096752,
}  # fmt: skip


def test_rates_match_the_unit_example_exactly() -> None:
    """With e = 0.5 every rate equals outcomerate's exact fraction."""
    computed = rates(UNIT_COUNTS, e=0.5)
    assert list(RATES) == list(computed)
    for name, expected in UNIT_RATES.items():
        assert float(expected) == pytest.approx(computed[name], abs=1e-15), name


def test_rates_match_the_vignette_with_e_by_proportional_allocation() -> None:
    """e defaults to (I+P+R+NC+O)/(I+P+R+NC+O+NE); every rate matches to 8 decimals."""
    assert F(1447, 1518) == F(VIGNETTE_COUNTS.eligibility() or 0).limit_denominator(10_000)
    computed = rates(VIGNETTE_COUNTS)
    for name, expected in VIGNETTE_RATES.items():
        assert expected == pytest.approx(computed[name], abs=5e-9), name


def test_a_zero_denominator_gives_no_rate() -> None:
    """Nothing dialled yet: every rate is unknown (None), not 0 and not an error."""
    assert all(value is None for value in rates(Counts()).values())
    only_unknowns = rates(Counts(uh=10))
    assert 0.0 == only_unknowns["RR1"]
    assert only_unknowns["COOP1"] is None


def test_e_must_be_a_share() -> None:
    """An eligibility estimate outside [0, 1] is refused."""
    with pytest.raises(ValueError, match="e must be between 0 and 1"):
        rates(UNIT_COUNTS, e=1.5)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1.1", Category.I), ("1.2", Category.P), ("2.11", Category.R), ("2.12", Category.R),
        ("2.21", Category.NC), ("2.32", Category.O), ("2.33", Category.O),
        ("3.11", Category.UH), ("3.12", Category.UH), ("3.13", Category.UH),
        ("3.14", Category.UH), ("3.16", Category.UH), ("3.21", Category.UO),
        ("4.20", Category.NE), ("4.31", Category.NE), ("4.70", Category.NE),
        ("4.80", Category.NE),
    ],
)  # fmt: skip
def test_codes_fall_in_their_category(code: str, expected: Category) -> None:
    """Each code the dialer stores belongs to its AAPOR category."""
    assert expected == category(code)


def test_every_code_the_dialer_stores_has_a_category() -> None:
    """No outcome or disposition maps to a code the rates cannot count."""
    for code in [*AAPOR_BY_OUTCOME.values(), *AAPOR_BY_DISPOSITION.values()]:
        assert isinstance(category(code), Category)


@pytest.mark.parametrize("code", ["5.1", "1.3", "x", "", "2", "3.x"])
def test_a_code_that_is_not_aapor_is_refused(code: str) -> None:
    """An unknown code is an error naming it."""
    with pytest.raises(ValueError, match="not an AAPOR final disposition code"):
        category(code)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], NOT_DIALLED),
        (["3.13", "3.12"], "3.13"),
        (["3.13", "3.21", "3.13"], "3.21"),  # a person answered once: unknown other
        (["2.21", "3.13"], "2.21"),  # a contact outranks later non-answers
        (["2.11", "3.13", "1.1"], "1.1"),  # converted refusal
        (["2.11", "4.51"], "4.51"),  # found to be a business: not eligible
        (["1.2", "2.12"], "1.2"),
        (["2.21", "4.31"], "2.21"),  # a callback agreed: the number works whatever failed later
        (["3.21", "4.31"], "3.21"),  # a person answered (and was abandoned)
        (["3.13", "4.31"], "4.31"),  # no answer, then a dead number's cause
        (["2.11", "4.20"], "4.20"),  # an operator's finding still outranks a refusal
    ],
)
def test_a_case_s_final_code_is_its_most_informative_attempt(
    codes: list[str], expected: str
) -> None:
    """Across attempts: interviews, then known eligibility, then contacts, then the rest."""
    assert expected == final_code(codes)


def test_counts_of_final_codes() -> None:
    """Counting cases by category from their final codes."""
    codes = ["1.1", "1.1", "1.2", "2.11", "2.21", "2.33", "3.13", "3.21", "4.31", NOT_DIALLED]
    assert Counts(i=2, p=1, r=1, nc=1, o=1, uh=2, uo=1, ne=1) == Counts.of(codes)
    assert 10 == Counts.of(codes).cases
