"""Raking to population margins: a hand-checked example, convergence, design effect."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from results.raking import RakingError, design_effect, margin_of_error, rake

# Seven respondents in a 2x2 table: (M,Y) 2, (M,O) 1, (F,Y) 1, (F,O) 3; odds ratio 6.
SAMPLE = {"sex": ["M", "M", "M", "F", "F", "F", "F"], "age": ["Y", "Y", "O", "Y", "O", "O", "O"]}
MARGINS = {"sex": {"M": 50.0, "F": 50.0}, "age": {"Y": 40.0, "O": 60.0}}


def test_raking_reproduces_the_hand_checked_table() -> None:
    """Raking keeps the sample's odds ratio (6) and meets both margins: the table with
    rows 50/50 and columns 40/60 and odds ratio 6 is 30, 20, 10, 40 (a(a+10) = 6(50-a)(40-a)
    gives a = 30), so each (M,Y) respondent weighs 15, (M,O) 20, (F,Y) 10, (F,O) 40/3."""
    raked = rake(SAMPLE, MARGINS)
    expected = [15, 15, 20, 10, 40 / 3, 40 / 3, 40 / 3]
    assert expected == pytest.approx(raked.weights.tolist(), rel=1e-10)
    assert raked.max_error <= 1e-12


def test_the_design_effect_and_margin_of_error_by_hand() -> None:
    """deff = n sum(w^2) / sum(w)^2; the margin of error at 50% widens by sqrt(deff)."""
    weights = [15, 15, 20, 10, 40 / 3, 40 / 3, 40 / 3]
    deff = 7 * sum(w * w for w in weights) / sum(weights) ** 2
    assert deff == pytest.approx(design_effect(weights), rel=1e-12)
    assert 1.0 == design_effect([2.0] * 10)
    assert 0.0980 == pytest.approx(margin_of_error(0.5, 100), abs=1e-4)
    assert 0.0980 * np.sqrt(2) == pytest.approx(margin_of_error(0.5, 100, deff=2), abs=1e-4)


_CROSS = [(d, a, x) for d in "abc" for a in "xyzw" for x in "mf"]
# Every district x age x sex combination once, then any mix: a sample with an empty
# combination may admit no weights at all (women only among the young, while the young
# are fewer than the women): results.estimates.weigh handles that, not raking itself.
_CELLS = st.lists(st.sampled_from(_CROSS), max_size=180).map(lambda extra: _CROSS + extra)


@settings(max_examples=60, deadline=None)
@given(_CELLS, st.integers(min_value=0, max_value=2**31))
def test_raking_converges_to_every_margin(cells: list[tuple[str, str, str]], seed: int) -> None:
    """For any sample holding every combination of the categories, however unevenly, the
    weighted margins equal the population's within 1e-9 (relative), three variables at once."""
    district, age, sex = (list(column) for column in zip(*cells, strict=True))
    rng = np.random.default_rng(seed)
    margins = {
        "district": dict(zip("abc", rng.uniform(1, 9, 3) * 1e4, strict=True)),
        "age": dict(zip("xyzw", rng.uniform(1, 9, 4), strict=True)),
        "sex": dict(zip("mf", rng.uniform(1, 9, 2), strict=True)),
    }
    total = sum(margins["district"].values())
    for name in ("age", "sex"):  # every margin sums to the same population
        scale = total / sum(margins[name].values())
        margins[name] = {k: v * scale for k, v in margins[name].items()}
    sample = {"district": district, "age": age, "sex": sex}
    weights = rake(sample, margins).weights
    for name, margin in margins.items():
        for category, wanted in margin.items():
            got = weights[np.array(sample[name]) == category].sum()
            assert abs(got / wanted - 1) <= 1e-9, (name, category)


@pytest.mark.parametrize(
    ("sample", "margins", "message"),
    [
        (SAMPLE, {**MARGINS, "age": {"Y": 40.0, "O": 59.0, "X": 1.0}}, "age=X: no respondent"),
        (SAMPLE, {**MARGINS, "age": {"Y": 100.0}}, "age=O: a respondent's value with no margin"),
        (SAMPLE, {**MARGINS, "age": {"Y": 50.0, "O": 60.0}}, "age: its margin totals 110"),
        (SAMPLE, {**MARGINS, "age": {"Y": 0.0, "O": 100.0}}, "age=Y: a margin must be positive"),
        (SAMPLE, {"district": {"C1": 1.0}}, "district: the sample has no such variable"),
        ({"sex": ["M"], "age": []}, MARGINS, "one value per respondent"),
        (SAMPLE, {}, "no margins"),
    ],
)
def test_an_impossible_raking_names_the_variable(
    sample: dict[str, list[str]], margins: dict[str, dict[str, float]], message: str
) -> None:
    """Margins the sample cannot meet are an error naming the variable and category."""
    with pytest.raises(RakingError, match=message):
        rake(sample, margins)


def test_base_weights_are_the_starting_point() -> None:
    """Design weights carry through: raking the already raked weights changes nothing."""
    first = rake(SAMPLE, MARGINS).weights
    again = rake(SAMPLE, MARGINS, base=first.tolist())
    assert first.tolist() == pytest.approx(again.weights.tolist(), rel=1e-12)
    assert 1 == again.iterations
    with pytest.raises(RakingError, match="base weights must be 7 positive numbers"):
        rake(SAMPLE, MARGINS, base=[1.0] * 6)
