"""Population margins: a CSV of district, age_band, sex, population (``#`` lines are comments)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sampling.cells import CellGrid, CellKey
from sampling.errors import SamplingError

REQUIRED = ("district", "age_band", "sex", "population")


class MarginsError(SamplingError):
    """The margins file is invalid; the message names the file, line and field."""


def load_margins(path: Path, grid: CellGrid) -> npt.NDArray[np.int64]:
    """Population per cell, in the grid's canonical order."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MarginsError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MarginsError(f"{path}: is not UTF-8") from None
    return parse_margins(text, grid, str(path))


def parse_margins(text: str, grid: CellGrid, name: str = "margins") -> npt.NDArray[np.int64]:
    """Parse margins text into population per cell; every cell of the grid must appear once."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if not _comment(line)]
    reader = csv.reader([line for _, line in lines])
    header = next(reader, None)
    if header is None:
        raise MarginsError(f"{name}: empty file")
    columns = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise MarginsError(f"{name}: line {lines[0][0]}: missing column(s) {', '.join(missing)}")
    at = {c: columns.index(c) for c in REQUIRED}
    population = np.full(grid.size, -1, dtype=np.int64)
    for (number, _), row in zip(lines[1:], reader, strict=False):
        where = f"{name}: line {number}"
        if len(row) != len(columns):
            raise MarginsError(f"{where}: expected {len(columns)} fields, found {len(row)}")
        key = CellKey(*(row[at[c]].strip() for c in ("district", "age_band", "sex")))
        try:
            index = grid.index(key)
        except KeyError:
            raise MarginsError(f"{where}: cell {key} is not in the survey") from None
        try:
            value = int(row[at["population"]])
        except ValueError:
            raise MarginsError(
                f"{where}: population {row[at['population']]!r} is not a whole number"
            ) from None
        if value < 0:
            raise MarginsError(f"{where}: population must not be negative")
        if population[index] >= 0:
            raise MarginsError(f"{where}: cell {key} appears twice")
        population[index] = value
    absent = [str(k) for k, p in zip(grid.cells(), population, strict=True) if p < 0]
    if absent:
        raise MarginsError(f"{name}: no population for cell(s) {', '.join(absent[:5])}")
    if population.sum() == 0:
        raise MarginsError(f"{name}: total population is zero")
    return population


def _comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def margins_csv(grid: CellGrid, population: npt.NDArray[np.int64], preamble: str = "") -> str:
    """Render margins back to CSV text (the inverse of ``parse_margins``)."""
    out = io.StringIO()
    for line in preamble.splitlines():
        out.write(f"# {line}\n" if line else "#\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED)
    for key, value in zip(grid.cells(), population, strict=True):
        writer.writerow([key.district, key.age_band, key.sex, int(value)])
    return out.getvalue()
