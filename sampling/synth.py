"""A synthetic but realistic sample frame for a city, for demos, tests and benchmarks.

People are drawn in proportion to the population margins; older people are more often on a
landline. A share of rows carry a wrong district, age or sex (frames are never exact: the true
values are kept in ``sim_*`` columns for the simulated interview), and a few malformed rows show
what the import's reject report looks like.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sampling.cells import CellGrid

HEADER = ("phone", "district", "age", "sex", "line_type", "sim_district", "sim_age_band", "sim_sex")
MOBILE_PREFIXES = (
    "320", "324", "327", "328", "329", "330", "331", "333", "334", "335", "338", "339", "340",
    "342", "345", "346", "347", "348", "349", "351", "366", "380", "388", "389", "392", "393",
)  # fmt: skip
LANDLINE_PREFIX = "0187"  # La Spezia's area code
LANDLINE_SPACE = 800_000  # subscriber numbers 200000-999999
MOBILE_SPACE = 10_000_000  # 7 digits after the prefix
_FORMATS = 4


@dataclass(frozen=True, slots=True)
class SyntheticFrame:
    """The frame's rows (header first) and a do-not-call list drawn from it."""

    rows: list[list[str]]
    dnc: list[str]

    def csv_text(self) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(self.rows)
        return out.getvalue()

    def dnc_text(self) -> str:
        lines = ["# do-not-call list (synthetic): numbers in the formats people write them"]
        return "\n".join([*lines, *self.dnc]) + "\n"


def landline_share(band_low: int) -> float:
    """Share of people in an age band reachable on a landline rather than a mobile."""
    if band_low >= 65:
        return 0.65
    if band_low >= 50:
        return 0.35
    if band_low >= 35:
        return 0.2
    return 0.1


def synthesize(
    grid: CellGrid,
    population: npt.NDArray[np.int64],
    rows: int,
    rng: np.random.Generator,
    wrong_share: float = 0.08,
    malformed: int = 12,
    dnc_share: float = 0.005,
) -> SyntheticFrame:
    """Build ``rows`` good rows (plus ``malformed`` bad ones) and a do-not-call list."""
    keys = grid.cells()
    cells = rng.choice(len(keys), size=rows, p=population / population.sum())
    landline = np.array(
        [rng.random() < landline_share(grid.band(keys[c].age_band).low) for c in cells]  # type: ignore[union-attr]
    )
    numbers = _numbers(int(landline.sum()), int((~landline).sum()), rng)
    phones = np.empty(rows, dtype=object)
    phones[landline], phones[~landline] = numbers
    out: list[list[str]] = [list(HEADER)]
    for i, cell in enumerate(cells):
        truth = keys[cell]
        band = grid.band(truth.age_band)
        assert band is not None
        age = int(rng.integers(band.low, min(band.high, 95) + 1))
        district, sex, frame_age = truth.district, truth.sex, age
        if rng.random() < wrong_share:
            district, frame_age, sex = _perturb(grid, truth.district, age, truth.sex, rng)
        out.append(
            [
                _written(str(phones[i]), rng),
                district,
                str(frame_age),
                sex,
                "landline" if landline[i] else "mobile",
                truth.district,
                truth.age_band,
                truth.sex,
            ]
        )
    dnc_count = int(rows * dnc_share)
    dnc = [_written(str(p), rng) for p in rng.choice(phones, size=dnc_count, replace=False)]
    _insert_malformed(out, malformed, rng)
    return SyntheticFrame(out, dnc)


def _numbers(landlines: int, mobiles: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    fixed = rng.choice(LANDLINE_SPACE, size=landlines, replace=False) + 200_000
    mobile = rng.choice(len(MOBILE_PREFIXES) * MOBILE_SPACE, size=mobiles, replace=False)
    return (
        [f"{LANDLINE_PREFIX}{n:06d}" for n in fixed],
        [f"{MOBILE_PREFIXES[n // MOBILE_SPACE]}{n % MOBILE_SPACE:07d}" for n in mobile],
    )


def _written(national: str, rng: np.random.Generator) -> str:
    """The number as a person might have typed it."""
    style = int(rng.integers(_FORMATS))
    if style == 1:
        return f"+39 {national}"
    if style == 2:
        head = 4 if national.startswith("0") else 3
        return f"{national[:head]} {national[head:]}"
    if style == 3:
        return f"0039{national}"
    return national


def _perturb(
    grid: CellGrid, district: str, age: int, sex: str, rng: np.random.Generator
) -> tuple[str, int, str]:
    which = int(rng.integers(3))
    if which == 0 and len(grid.districts) > 1:
        district = str(rng.choice([d for d in grid.districts if d != district]))
    elif which == 1 and len(grid.age_bands) > 1:
        others = [b for b in grid.age_bands if not b.contains(age)]
        band = others[int(rng.integers(len(others)))]
        age = int(rng.integers(band.low, min(band.high, 95) + 1))
    elif len(grid.sexes) > 1:
        sex = str(rng.choice([s for s in grid.sexes if s != sex]))
    return district, age, sex


def _insert_malformed(out: list[list[str]], count: int, rng: np.random.Generator) -> None:
    """Replace or add rows with every kind of fault the import must report."""
    if len(out) < 3:
        return
    good = out[1]
    kinds: list[Callable[[list[str]], list[str]]] = [
        lambda r: ["0187 1", *r[1:]],  # too short to be a number
        lambda r: [r[0], "Z9", *r[2:]],  # unknown district
        lambda r: [*r[:2], "15", *r[3:]],  # under the youngest band
        lambda r: [*r[:2], "forty", *r[3:]],  # not a number
        lambda r: [*r[:3], "X", *r[4:]],  # unknown sex code
        lambda r: ["", *r[1:]],  # empty phone
        lambda r: r[:-1],  # a field missing
        lambda r: [*r, "extra"],  # a field too many
        lambda r: [f"+39 {_digits(r[0])}", *r[1:]],  # the same number again, written otherwise
    ]
    for i in range(count):
        source = out[int(rng.integers(1, len(out)))] if i % len(kinds) else good
        row = kinds[i % len(kinds)](list(source))
        out.insert(int(rng.integers(2, len(out) + 1)), row)


def _digits(written: str) -> str:
    digits = "".join(ch for ch in written if ch.isdigit())
    return (
        digits[4:]
        if digits.startswith("0039")
        else digits[2:]
        if written.startswith("+")
        else digits
    )
