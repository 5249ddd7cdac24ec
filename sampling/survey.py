"""The survey definition: a TOML file naming cells, interview count, margins and policies."""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sampling.cells import AgeBand, CellGrid, CellKey, parse_age_band
from sampling.errors import ConfigError, SurveyConfigError
from sampling.tomlkeys import check_keys, optional, positive_int, required, table, typed

RESULTS = ("complete", "refusal", "ineligible", "over_quota", "other")
"""Final results a case can reach, as sampling sees them (the dialer maps AAPOR codes onto them)."""

_SECTIONS: dict[str, set[str]] = {
    "survey": {
        "name",
        "wave",
        "interviews",
        "region",
        "margins",
        "districts",
        "age_bands",
        "sex",
        "questionnaire",
    },
    "quotas": {"minimum_per_cell", "mode", "overshoot", "overrides"},
    "yield": {"prior", "strength"},
    "waves": {"exclude_last", "exclude_results"},
}


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """How targets are set and enforced."""

    minimum_per_cell: int = 0
    soft: bool = False
    overshoot: int = 0
    """Extra completes a cell may take beyond its target when ``soft``."""
    overrides: Mapping[CellKey, int] = field(default_factory=dict)

    @property
    def allowance(self) -> int:
        return self.overshoot if self.soft else 0


@dataclass(frozen=True, slots=True)
class YieldPrior:
    """Expected completes per number released, before any case has finished; pacing starts
    from it too as completes per dial (high there: a number takes several dials, so the
    first calls out per cell are few)."""

    prior: float = 0.1
    strength: float = 50.0
    """Weight of the prior, in finished numbers (or dials): a cell needs this many before its own
    rate counts as much as the prior does."""


@dataclass(frozen=True, slots=True)
class WaveRule:
    """Which numbers a new wave leaves out: those with these results in the last N waves."""

    exclude_last: int = 0
    exclude_results: tuple[str, ...] = ("complete", "refusal")


@dataclass(frozen=True, slots=True)
class Survey:
    """A validated survey definition."""

    name: str
    wave: int
    interviews: int
    region: str
    margins_path: Path
    grid: CellGrid
    quotas: QuotaPolicy
    yield_prior: YieldPrior
    waves: WaveRule
    source_text: str = ""
    questionnaire_path: Path | None = None
    """The questionnaire operators run (docs/questionnaire.md); None: completes carry no
    answers."""


def load_survey(path: Path) -> Survey:
    """Read and validate a survey TOML file; relative paths in it are relative to the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SurveyConfigError(str(path), f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SurveyConfigError(str(path), "is not UTF-8") from None
    return parse_survey(text, base_dir=path.parent)


def parse_survey(text: str, base_dir: Path) -> Survey:
    """Validate survey TOML text; every error names its key."""
    try:
        return _parse(text, base_dir)
    except SurveyConfigError:
        raise
    except ConfigError as exc:
        raise SurveyConfigError(exc.key, exc.problem) from None


def _parse(text: str, base_dir: Path) -> Survey:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SurveyConfigError("(file)", f"not valid TOML: {exc}") from None
    check_keys(doc, _SECTIONS)
    s = table(doc, "survey", required=True)
    grid = CellGrid(
        districts=tuple(_str_list(s, "survey.districts")),
        age_bands=_age_bands(_str_list(s, "survey.age_bands")),
        sexes=tuple(_str_list(s, "survey.sex")),
    )
    survey = Survey(
        name=required(s, "survey.name", str),
        wave=positive_int(s.get("wave", 1), "survey.wave"),
        interviews=positive_int(required(s, "survey.interviews", int), "survey.interviews"),
        region=optional(s, "survey.region", str, "IT"),
        margins_path=base_dir / required(s, "survey.margins", str),
        grid=grid,
        quotas=_quota_policy(table(doc, "quotas"), grid),
        yield_prior=_yield_prior(table(doc, "yield")),
        waves=_wave_rule(table(doc, "waves")),
        source_text=text,
        questionnaire_path=(
            base_dir / typed(s["questionnaire"], "survey.questionnaire", str)
            if "questionnaire" in s
            else None
        ),
    )
    if not survey.name.strip():
        raise SurveyConfigError("survey.name", "must not be empty")
    return survey


def _str_list(table: Mapping[str, Any], key: str) -> list[str]:
    value = required(table, key, list)
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise SurveyConfigError(key, "must be a non-empty list of non-empty strings")
    if len({v.strip().casefold() for v in value}) != len(value):
        raise SurveyConfigError(key, "has a duplicate entry (ignoring case and spaces)")
    if any("/" in v for v in value):
        raise SurveyConfigError(key, "entries must not contain '/'")
    return [v.strip() for v in value]


def _age_bands(labels: list[str]) -> tuple[AgeBand, ...]:
    bands: list[AgeBand] = []
    for label in labels:
        try:
            bands.append(parse_age_band(label))
        except ValueError as exc:
            raise SurveyConfigError("survey.age_bands", str(exc)) from None
    ordered = sorted(bands, key=lambda b: b.low)
    for before, after in itertools.pairwise(ordered):
        if after.low <= before.high:
            raise SurveyConfigError(
                "survey.age_bands", f"bands {before.label} and {after.label} overlap"
            )
    return tuple(bands)


def _quota_policy(q: Mapping[str, Any], grid: CellGrid) -> QuotaPolicy:
    mode = optional(q, "quotas.mode", str, "hard")
    if mode not in ("hard", "soft"):
        raise SurveyConfigError("quotas.mode", f"must be 'hard' or 'soft', not {mode!r}")
    minimum = optional(q, "quotas.minimum_per_cell", int, 0)
    overshoot = optional(q, "quotas.overshoot", int, 0)
    for key, value in (("quotas.minimum_per_cell", minimum), ("quotas.overshoot", overshoot)):
        if value < 0:
            raise SurveyConfigError(key, f"must not be negative, not {value}")
    if overshoot and mode != "soft":
        raise SurveyConfigError("quotas.overshoot", "is only allowed with mode = 'soft'")
    overrides: dict[CellKey, int] = {}
    raw = optional(q, "quotas.overrides", dict, {})
    for text, target in raw.items():
        key = f"quotas.overrides.{text!r}"
        try:
            cell = CellKey.parse(text)
            grid.index(cell)
        except (ValueError, KeyError):
            raise SurveyConfigError(
                key, "is not a cell 'district/age_band/sex' of this survey"
            ) from None
        value = typed(target, key, int)
        if value < 0:
            raise SurveyConfigError(key, f"must not be negative, not {value}")
        overrides[cell] = value
    return QuotaPolicy(minimum, mode == "soft", overshoot, overrides)


def _yield_prior(y: Mapping[str, Any]) -> YieldPrior:
    prior = optional(y, "yield.prior", float, YieldPrior().prior)
    strength = optional(y, "yield.strength", float, YieldPrior().strength)
    if not 0.0 < prior <= 1.0:
        raise SurveyConfigError("yield.prior", f"must be in (0, 1], not {prior}")
    if strength <= 0:  # with no prior weight one refusal would release a whole cell
        raise SurveyConfigError("yield.strength", f"must be above 0, not {strength}")
    return YieldPrior(prior, strength)


def _wave_rule(w: Mapping[str, Any]) -> WaveRule:
    last = optional(w, "waves.exclude_last", int, 0)
    if last < 0:
        raise SurveyConfigError("waves.exclude_last", f"must not be negative, not {last}")
    results = optional(w, "waves.exclude_results", list, list(WaveRule().exclude_results))
    for result in results:
        if result not in RESULTS:
            raise SurveyConfigError(
                "waves.exclude_results", f"{result!r} is not one of {', '.join(RESULTS)}"
            )
    return WaveRule(last, tuple(results))
