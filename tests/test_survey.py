"""The survey definition: valid files load, invalid ones name the key at fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dialer.store.waves import design_targets
from sampling.allocation import AllocationError
from sampling.cells import CellKey
from sampling.errors import SurveyConfigError
from sampling.margins import MarginsError, load_margins
from sampling.survey import load_survey, parse_survey
from tests.conftest import SurveyFactory

BASE = """
[survey]
name = "s"
interviews = 100
margins = "m.csv"
districts = ["A", "B"]
age_bands = ["18-34", "35+"]
sex = ["M", "F"]
"""


def test_shipped_la_spezia_survey_loads_with_its_margins() -> None:
    """The demo survey and its margins file are valid and cover every cell."""
    path = Path(__file__).parents[1] / "sampling" / "data" / "la_spezia" / "survey.toml"
    survey = load_survey(path)
    population = load_margins(survey.margins_path, survey.grid)
    assert 40 == survey.grid.size
    assert 1000 == survey.interviews
    assert 78_000 < int(population.sum()) < 80_000


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[quotas]\nmode = "firm"\n', "quotas.mode"),
        ("[quotas]\nminimum_per_cell = -1\n", "quotas.minimum_per_cell"),
        ('[quotas]\noverrides = { "A/18-34/X" = 3 }\n', "quotas.overrides.'A/18-34/X'"),
        ("[quotas]\novershoot = 2\n", "quotas.overshoot"),
        ("[yield]\nprior = 0\n", "yield.prior"),
        ("[yield]\nprior = 'high'\n", "yield.prior"),
        ("[yield]\nstrength = 0\n", "yield.strength"),
        ("[waves]\nexclude_results = ['complete', 'hangup']\n", "waves.exclude_results"),
        ("[waves]\nexclude_lst = 2\n", "waves.exclude_lst"),
        ("[dialling]\nrate = 2\n", "dialling"),
    ],
)
def test_invalid_settings_name_their_key(extra: str, key: str) -> None:
    """Each invalid setting is refused with an error that names its key."""
    with pytest.raises(SurveyConfigError) as caught:
        parse_survey(BASE + extra, Path("."))
    assert key == caught.value.key


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("interviews = 100", 'interviews = "many"', "survey.interviews"),
        ("interviews = 100", "interviews = 0", "survey.interviews"),
        ('["18-34", "35+"]', '["18-34", "30+"]', "survey.age_bands"),
        ('["18-34", "35+"]', '["eighteen"]', "survey.age_bands"),
        ('["A", "B"]', '["A", "A"]', "survey.districts"),
        ('["A", "B"]', '["A", "a "]', "survey.districts"),
        ('name = "s"\n', "", "survey.name"),
    ],
)
def test_invalid_survey_section_names_the_key(old: str, new: str, key: str) -> None:
    """Wrong types, bad bands, duplicates and missing keys each name the key."""
    with pytest.raises(SurveyConfigError) as caught:
        parse_survey(BASE.replace(old, new, 1), Path("."))
    assert key == caught.value.key


def test_toml_syntax_error_is_reported() -> None:
    """A file that is not TOML says so, with the parser's position."""
    with pytest.raises(SurveyConfigError, match="not valid TOML"):
        parse_survey("[survey\nname=", Path("."))


def test_overrides_and_soft_mode_are_read(make_survey: SurveyFactory) -> None:
    """Soft mode carries its overshoot allowance; hard mode has none."""
    assert 3 == make_survey(mode="soft", overshoot=3).quotas.allowance
    assert 0 == make_survey().quotas.allowance
    survey = parse_survey(BASE + '[quotas]\noverrides = { "A/18-34/M" = 7 }\n', Path("."))
    assert {CellKey("A", "18-34", "M"): 7} == dict(survey.quotas.overrides)


def test_an_override_beyond_its_cells_population_is_refused_naming_it() -> None:
    """Twenty interviews cannot come from a cell of fifteen people: the override is named."""
    survey = parse_survey(BASE + '[quotas]\noverrides = { "A/18-34/M" = 20 }\n', Path("."))
    population = np.full(survey.grid.size, 1000, dtype=np.int64)
    assert 20 == design_targets(survey, population)[survey.grid.index(CellKey("A", "18-34", "M"))]
    population[survey.grid.index(CellKey("A", "18-34", "M"))] = 15
    with pytest.raises(AllocationError, match=r"quotas.overrides.'A/18-34/M' = 20 .*\(15\)"):
        design_targets(survey, population)


def test_margins_missing_cell_is_named(tmp_path: Path, make_survey: SurveyFactory) -> None:
    """A margins file without a cell of the survey names the cell."""
    survey = make_survey()
    (tmp_path / "short.csv").write_text(
        "district,age_band,sex,population\nNorth,18-34,M,5\n", encoding="utf-8"
    )
    with pytest.raises(MarginsError, match="no population for cell"):
        load_margins(tmp_path / "short.csv", survey.grid)


def test_margins_bad_number_names_the_line(tmp_path: Path, make_survey: SurveyFactory) -> None:
    """A population that is not a number is reported with its line."""
    survey = make_survey()
    (tmp_path / "bad.csv").write_text(
        "# comment\ndistrict,age_band,sex,population\nNorth,18-34,M,lots\n", encoding="utf-8"
    )
    with pytest.raises(MarginsError, match="line 3: population 'lots'"):
        load_margins(tmp_path / "bad.csv", survey.grid)
