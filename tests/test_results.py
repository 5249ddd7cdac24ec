"""A wave's results: weighted estimates, rates per cell, the CSV and HTML report, the command."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dialer.cli import main
from dialer.store.db import connect
from dialer.store.wave_results import wave_results
from questionnaire.load import load_questionnaire
from results.estimates import Respondent, estimates, weigh
from results.raking import margin_of_error
from results.report import ESTIMATE_COLUMNS, estimates_csv, html_report, rates_csv
from results.summary import key, margins, summarise
from sampling.cells import CellKey
from tests.conftest import SurveyFactory
from tests.test_responses import _interviewed

LA_SPEZIA_FILE = (
    Path(__file__).parent.parent / "sampling" / "data" / "la_spezia" / "questionnaire.toml"
)
LA_SPEZIA = load_questionnaire(LA_SPEZIA_FILE)
GRID = {"a": 4, "b": 3, "c": 2, "d": 4, "e": 1}


def _answers(q1: str, q3a: int = 4, q8: str = "no") -> dict[str, Any]:
    return {
        "q1": q1, **({"q2": "C"} if q1 == "B" else {}), "q3": {**GRID, "a": q3a}, "q4": "A",
        "q5": ["B"], "q6": {"answer": "yes", "because": ""}, "q7": "x", "q8": q8,
        **({"q8a": ["A"]} if q8 == "yes" else {"q8b": "A"}),
    }  # fmt: skip


# Four respondents, two districts x two sexes, one age band: raking to margins of 300/100
# (districts) and 200/200 (sexes) gives each respondent the weight of its own cell.
RESPONDENTS = [
    Respondent("N", "18-34", "M", _answers("A", 4, "yes")),
    Respondent("N", "18-34", "F", _answers("B", 2, "no")),
    Respondent("S", "18-34", "M", _answers("A", 1, "no")),
    Respondent("S", "18-34", "F", _answers("B", 3, "yes")),
]
POPULATION = {
    CellKey("N", "18-34", "M"): 150,
    CellKey("N", "18-34", "F"): 150,
    CellKey("S", "18-34", "M"): 50,
    CellKey("S", "18-34", "F"): 50,
}


def _find(found: list[Any], question: str, answer: str, group: str = "all") -> Any:
    return next(e for e in found if (e.question, e.answer, e.group) == (question, answer, group))


def test_estimates_are_weighted_shares_and_means() -> None:
    """Shares and means use the raked weights; the margin of error carries the design effect
    of its base's weights; a question's base is the respondents its routing asked."""
    assert {"district": {"N": 300.0, "S": 100.0}, "age_band": {"18-34": 400.0},
            "sex": {"M": 200.0, "F": 200.0}} == margins(POPULATION)  # fmt: skip
    weighting = weigh(RESPONDENTS, margins(POPULATION))
    assert [150, 150, 50, 50] == pytest.approx(weighting.weights.tolist(), rel=1e-9)
    assert 1.25 == pytest.approx(weighting.design_effect)  # 4 * 50000 / 400^2
    found = estimates(LA_SPEZIA, RESPONDENTS, weighting)
    q1a = _find(found, "q1", "A")
    assert 0.5 == pytest.approx(q1a.estimate)  # N/M 150 + S/M 50 of 400
    assert margin_of_error(0.5, 4, 1.25) == pytest.approx(q1a.moe)
    assert 0.5 == pytest.approx(_find(found, "q8", "yes").estimate)  # N/M 150 + S/F 50
    q3a = _find(found, "q3", "a")
    assert (150 * 4 + 150 * 2 + 50 * 1 + 50 * 3) / 400 == pytest.approx(q3a.estimate)
    assert "mean" == q3a.measure
    assert 2 == _find(found, "q2", "C").base  # only those who answered 1B were asked
    assert 1.0 == pytest.approx(_find(found, "q2", "C").estimate)
    yes = _find(found, "q6", "yes")
    assert (1.0, 4) == (round(yes.estimate, 12), yes.base)
    north = _find(found, "q1", "A", "district")
    assert ("N", 0.5, 2) == (north.value, round(north.estimate, 12), north.base)
    # within the district the weights are equal: its own design effect is 1, not 1.25
    assert margin_of_error(0.5, 2, 1.0) == pytest.approx(north.moe)
    assert not any(e.question == "q7" for e in found)  # open text: no figure


def test_summary_rates_per_cell_and_the_previous_wave() -> None:
    """Rates come from each case's most informative code; a second wave's estimates carry
    the first's for comparison."""
    cases = [
        (CellKey("N", "18-34", "M"), ("3.13", "1.1")),
        (CellKey("N", "18-34", "F"), ("2.11",)),
        (CellKey("S", "18-34", "M"), ()),  # released, never dialled: 3.11
        (CellKey("S", "18-34", "F"), ("4.31",)),
    ]
    first = summarise("s", 1, LA_SPEZIA, cases, RESPONDENTS, POPULATION)
    counts = first.outcomes.counts
    assert (1, 1, 1, 1) == (counts.i, counts.r, counts.uh, counts.ne)
    assert 2 / 3 == pytest.approx(first.outcomes.eligibility)
    assert 1 / 3 == pytest.approx(first.outcomes.rates["RR1"])
    by_cell = {str(c.cell): c for c in first.outcomes.cells}
    assert 1.0 == by_cell["N/18-34/M"].rates["RR1"]
    assert by_cell["S/18-34/F"].rates["RR1"] is None  # only an ineligible number there
    changed = [Respondent(r.district, r.age_band, r.sex, _answers("A")) for r in RESPONDENTS]
    second = summarise("s", 2, LA_SPEZIA, cases, changed, POPULATION, first.estimates)
    rows = list(csv.DictReader(io.StringIO(estimates_csv(second))))
    assert list(ESTIMATE_COLUMNS) == list(rows[0])
    q1a = next(r for r in rows if (r["question"], r["answer"], r["group"]) == ("q1", "A", "all"))
    assert (1.0, 0.5, 0.5) == (float(q1a["estimate"]), float(q1a["previous"]), float(q1a["change"]))
    rates = list(csv.DictReader(io.StringIO(rates_csv(second))))
    assert ["all", "N/18-34/M", "N/18-34/F", "S/18-34/M", "S/18-34/F"] == [r["cell"] for r in rates]


def test_the_html_report_shows_every_question_in_its_language() -> None:
    """The report names each asked question, escapes text, and shows the previous wave."""
    first = summarise("s", 1, LA_SPEZIA, [], RESPONDENTS, POPULATION)
    second = summarise("s", 2, LA_SPEZIA, [], RESPONDENTS, POPULATION, first.estimates)
    italian = html_report(second, "it")
    english = html_report(second, "en")
    assert LA_SPEZIA.item("q1").text.it in italian
    assert LA_SPEZIA.item("q1").text.en in english
    assert "ondata prec." in italian
    assert "prev. wave" in english
    assert "l&#x27;università" in italian  # q3's row, escaped
    for question in ("q1", "q2", "q3", "q4", "q5", "q6", "q8", "q8a", "q8b"):
        assert f"<h3>{question}. " in italian
    empty = summarise("s", 1, LA_SPEZIA, [], [], POPULATION)
    assert "Nessuna intervista completa" in html_report(empty, "it")


@pytest.mark.parametrize("scale", [(1, 4), (1, 5), (0, 10)])
def test_a_grid_rows_bar_is_its_mean_on_the_items_scale(scale: tuple[int, int]) -> None:
    """A rating's bar spans the item's own scale, whatever its ends."""
    items = tuple(replace(i, scale=scale) if i.id == "q3" else i for i in LA_SPEZIA.items)
    result = summarise("s", 1, replace(LA_SPEZIA, items=items), [], RESPONDENTS, POPULATION)
    section = html_report(result, "en").split("<h3>q3. ")[1].split("</section>")[0]
    chart = section.split("<div class='chart'>")[1].split("<table>")[0]
    low, high = scale
    means = [e.estimate for e in result.estimates if (e.question, e.group) == ("q3", "all")]
    assert [f"{100 * (m - low) / (high - low):.1f}" for m in means] == re.findall(
        r"width:([\d.]+)%", chart
    )


async def test_the_results_command_on_a_store(
    tmp_path: Path,
    make_survey: SurveyFactory,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``dialer results CAMPAIGN`` writes the CSVs and the report and prints the rates, from
    the store's dispositions and responses."""
    survey = make_survey(interviews=60)
    given = await _interviewed(tmp_path, survey, db_path)
    _with_questionnaire(tmp_path)
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        f'[campaign]\nname = "t"\nsurvey = "survey-w1.toml"\nstore = "{db_path.name}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert 0 == await _run(["results", str(campaign), "--out", str(out), "--json"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 1.0 == printed["rates"]["CON3"]  # every dialled case answered
    completes = len(given)
    assert completes / printed["cases"] == pytest.approx(printed["rates"]["RR1"])
    rows = list(csv.DictReader(io.StringIO((out / "results-w1.csv").read_text("utf-8"))))
    q1 = [r for r in rows if r["question"] == "q1" and r["group"] == "all"]
    assert 1.0 == pytest.approx(sum(float(r["estimate"]) for r in q1))
    assert {str(completes)} == {r["base"] for r in q1}
    assert "<h3>q1. " in (out / "results-w1.html").read_text(encoding="utf-8")
    assert 2 == await _run(["results", str(campaign), "--wave", "3"])
    assert "has no wave 3 in this store (waves: 1)" in capsys.readouterr().err


def test_results_need_a_questionnaire_and_a_store(
    tmp_path: Path, make_survey: SurveyFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A survey without a questionnaire, or a store not yet made, is a clear error."""
    make_survey()
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        '[campaign]\nname = "t"\nsurvey = "survey-w1.toml"\nstore = "none.sqlite"\n',
        encoding="utf-8",
    )
    assert 2 == main(["results", str(campaign)])
    assert "survey.questionnaire: results need the survey's questionnaire" in (
        capsys.readouterr().err
    )
    _with_questionnaire(tmp_path)
    assert 2 == main(["results", str(campaign)])
    assert "nothing was dialled yet" in capsys.readouterr().err


def _with_questionnaire(directory: Path) -> None:
    """The test survey in ``directory``, given the shipped questionnaire."""
    (directory / "questionnaire.toml").write_text(
        LA_SPEZIA_FILE.read_text(encoding="utf-8"), encoding="utf-8"
    )
    survey = directory / "survey-w1.toml"
    text = survey.read_text(encoding="utf-8")
    line = 'margins = "margins.csv"'
    survey.write_text(text.replace(line, f'{line}\nquestionnaire = "questionnaire.toml"'),
                      encoding="utf-8")  # fmt: skip


async def _run(argv: list[str]) -> int:
    """The command runs its own event loop: run it in a thread, off this test's loop."""
    return await asyncio.to_thread(main, argv)


def test_weights_of_a_wave_sum_to_its_population() -> None:
    """Raked weights add up to the population the cells hold."""
    weighting = weigh(RESPONDENTS, margins(POPULATION))
    assert 400 == pytest.approx(float(np.sum(weighting.weights)))


def test_a_category_without_respondents_is_stood_for_by_the_others() -> None:
    """Early in the field a district may have no complete: it is left out of its margin
    (scaled back to the population), named, and the report says so."""
    north_only = [r for r in RESPONDENTS if r.district == "N"]
    weighting = weigh(north_only, margins(POPULATION))
    assert ("district=S",) == weighting.unrepresented
    assert 400 == pytest.approx(float(np.sum(weighting.weights)))
    assert [200, 200] == pytest.approx(weighting.weights.tolist())  # by sex, 200 each
    report = html_report(summarise("s", 1, LA_SPEZIA, [], north_only, POPULATION), "en")
    assert "No respondent, stood for by the other groups: district=S" in report


async def test_a_second_wave_is_compared_with_the_first(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """With two waves in the store, the second's results carry the first's estimates and
    the change, read from the store as `dialer results` reads them."""
    first = await _interviewed(tmp_path, make_survey(wave=1, interviews=60), db_path, seed=7)
    second = await _interviewed(tmp_path, make_survey(wave=2, interviews=60), db_path, seed=8)
    async with connect(db_path) as db:
        one = await wave_results(db, "test-survey", 1, LA_SPEZIA)
        two = await wave_results(db, "test-survey", 2, LA_SPEZIA)
    assert {} == dict(one.previous)
    assert (len(first), len(second)) == (
        len(one.weighting.weights) if one.weighting else 0,
        len(two.weighting.weights) if two.weighting else 0,
    )
    assert {key(e): e.estimate for e in one.estimates} == dict(two.previous)
    rows = list(csv.DictReader(io.StringIO(estimates_csv(two))))
    q1 = next(r for r in rows if (r["question"], r["answer"], r["group"]) == ("q1", "A", "all"))
    change = float(q1["estimate"]) - float(q1["previous"])
    assert change == pytest.approx(float(q1["change"]), abs=1e-6)


def test_a_sample_too_sparse_for_every_margin_is_raked_to_those_it_can_meet() -> None:
    """Only northern women and southern men: no weights give the north 300 and women 200
    at once, so the weights meet the district margin (and the one age band) and say so."""
    sparse = [
        Respondent("N", "18-34", "F", _answers("A")),
        Respondent("S", "18-34", "M", _answers("B")),
        Respondent("S", "18-34", "M", _answers("A")),
    ]
    weighting = weigh(sparse, margins(POPULATION))
    assert ("district", "age_band") == weighting.variables
    assert [300, 50, 50] == pytest.approx(weighting.weights.tolist())
    report = html_report(summarise("s", 1, LA_SPEZIA, [], sparse, POPULATION), "en")
    assert "Sample too sparse for every margin; weighted by: District, Age" in report
