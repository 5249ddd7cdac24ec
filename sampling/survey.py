"""The survey definition: a TOML file naming cells, interview count, margins and policies."""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sampling.cells import AgeBand, CellGrid, CellKey, parse_age_band
from sampling.errors import SurveyConfigError

RESULTS = ("complete", "refusal", "ineligible", "other")
"""Final results a case can reach, as sampling sees them (the dialer maps AAPOR codes onto them)."""

T = TypeVar("T")

_SECTIONS: dict[str, set[str]] = {
    "survey": {"name", "wave", "interviews", "region", "margins", "districts", "age_bands", "sex"},
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
    """Expected completes per number released, before any case has finished."""

    prior: float = 0.1
    strength: float = 50.0
    """Weight of the prior, in finished numbers: a cell needs this many before its own rate counts
    as much as the prior does."""


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
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SurveyConfigError("(file)", f"not valid TOML: {exc}") from None
    _check_keys(doc)
    s = _table(doc, "survey", required=True)
    grid = CellGrid(
        districts=tuple(_str_list(s, "survey.districts")),
        age_bands=_age_bands(_str_list(s, "survey.age_bands")),
        sexes=tuple(_str_list(s, "survey.sex")),
    )
    survey = Survey(
        name=_req(s, "survey.name", str),
        wave=_positive_int(s.get("wave", 1), "survey.wave"),
        interviews=_positive_int(_req(s, "survey.interviews", int), "survey.interviews"),
        region=_req_default(s, "survey.region", str, "IT"),
        margins_path=base_dir / _req(s, "survey.margins", str),
        grid=grid,
        quotas=_quota_policy(_table(doc, "quotas"), grid),
        yield_prior=_yield_prior(_table(doc, "yield")),
        waves=_wave_rule(_table(doc, "waves")),
        source_text=text,
    )
    if not survey.name.strip():
        raise SurveyConfigError("survey.name", "must not be empty")
    return survey


def _check_keys(doc: Mapping[str, Any]) -> None:
    for section, value in doc.items():
        if section not in _SECTIONS:
            raise SurveyConfigError(section, f"unknown section (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise SurveyConfigError(section, "must be a table")
        for key in value:
            if key not in _SECTIONS[section]:
                known = ", ".join(sorted(_SECTIONS[section]))
                raise SurveyConfigError(f"{section}.{key}", f"unknown key (known: {known})")


def _table(doc: Mapping[str, Any], name: str, required: bool = False) -> dict[str, Any]:
    if name not in doc:
        if required:
            raise SurveyConfigError(name, "section is missing")
        return {}
    value: dict[str, Any] = doc[name]
    return value


def _req(table: Mapping[str, Any], key: str, kind: type[T]) -> T:
    short = key.rsplit(".", 1)[1]
    if short not in table:
        raise SurveyConfigError(key, "is required")
    return _typed(table[short], key, kind)


def _req_default(table: Mapping[str, Any], key: str, kind: type[T], default: T) -> T:
    short = key.rsplit(".", 1)[1]
    return _typed(table[short], key, kind) if short in table else default


def _typed(value: Any, key: str, kind: type[T]) -> T:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SurveyConfigError(key, f"must be {kind.__name__}, not {type(value).__name__}")
    return value


def _positive_int(value: Any, key: str) -> int:
    number = _typed(value, key, int)
    if number < 1:
        raise SurveyConfigError(key, f"must be at least 1, not {number}")
    return number


def _str_list(table: Mapping[str, Any], key: str) -> list[str]:
    value = _req(table, key, list)
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise SurveyConfigError(key, "must be a non-empty list of non-empty strings")
    if len(set(value)) != len(value):
        raise SurveyConfigError(key, "has a duplicate entry")
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
    mode = _req_default(q, "quotas.mode", str, "hard")
    if mode not in ("hard", "soft"):
        raise SurveyConfigError("quotas.mode", f"must be 'hard' or 'soft', not {mode!r}")
    minimum = _req_default(q, "quotas.minimum_per_cell", int, 0)
    overshoot = _req_default(q, "quotas.overshoot", int, 0)
    for key, value in (("quotas.minimum_per_cell", minimum), ("quotas.overshoot", overshoot)):
        if value < 0:
            raise SurveyConfigError(key, f"must not be negative, not {value}")
    if overshoot and mode != "soft":
        raise SurveyConfigError("quotas.overshoot", "is only allowed with mode = 'soft'")
    overrides: dict[CellKey, int] = {}
    raw = _req_default(q, "quotas.overrides", dict, {})
    for text, target in raw.items():
        key = f"quotas.overrides.{text!r}"
        try:
            cell = CellKey.parse(text)
            grid.index(cell)
        except (ValueError, KeyError):
            raise SurveyConfigError(
                key, "is not a cell 'district/age_band/sex' of this survey"
            ) from None
        value = _typed(target, key, int)
        if value < 0:
            raise SurveyConfigError(key, f"must not be negative, not {value}")
        overrides[cell] = value
    return QuotaPolicy(minimum, mode == "soft", overshoot, overrides)


def _yield_prior(y: Mapping[str, Any]) -> YieldPrior:
    prior = _req_default(y, "yield.prior", float, YieldPrior().prior)
    strength = _req_default(y, "yield.strength", float, YieldPrior().strength)
    if not 0.0 < prior <= 1.0:
        raise SurveyConfigError("yield.prior", f"must be in (0, 1], not {prior}")
    if strength < 0:
        raise SurveyConfigError("yield.strength", f"must not be negative, not {strength}")
    return YieldPrior(prior, strength)


def _wave_rule(w: Mapping[str, Any]) -> WaveRule:
    last = _req_default(w, "waves.exclude_last", int, 0)
    if last < 0:
        raise SurveyConfigError("waves.exclude_last", f"must not be negative, not {last}")
    results = _req_default(w, "waves.exclude_results", list, list(WaveRule().exclude_results))
    for result in results:
        if result not in RESULTS:
            raise SurveyConfigError(
                "waves.exclude_results", f"{result!r} is not one of {', '.join(RESULTS)}"
            )
    return WaveRule(last, tuple(results))
