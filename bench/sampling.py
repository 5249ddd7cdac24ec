"""Sampling benchmark: our stratified draw against pandas, and frame import speed.

    python -m bench.sampling [--rows 5000000] [--runs 5] [--import-rows 1000000] [--json]

A frame of ``--rows`` numbers in 108 cells (9 districts x 6 age bands x 2 sexes, sizes drawn from
a Dirichlet), 90% still eligible; one release of about 100k numbers (926 per cell, because pandas'
``groupby().sample(n=...)`` takes one n for every group). Both sides draw from the same arrays;
each is timed ``--runs`` times and the medians are compared. Then ``--import-rows`` synthetic rows
go through the real import (CSV, phonenumbers, validation, one SQLite transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from rich.console import Console
from rich.table import Table

from dialer.frame_import import import_frame
from sampling.cells import CellGrid, parse_age_band
from sampling.draw import draw_stratified
from sampling.survey import parse_survey
from sampling.synth import synthesize

CELLS = 108
PER_CELL = 926  # 108 x 926 = 100,008
BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
DISTRICTS = tuple(f"D{i}" for i in range(1, 10))


def _median_seconds(runs: int, work: Callable[[int], object]) -> float:
    times = []
    for run in range(runs):
        start = time.perf_counter()
        work(run)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_frame(rows: int, seed: int) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.bool_]]:
    """Cell of every number (grouped by cell, as the store loads them) and its eligibility."""
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(CELLS, 5.0))
    sizes = np.floor(shares * rows).astype(np.int64)
    sizes[0] += rows - int(sizes.sum())
    cells = np.repeat(np.arange(CELLS, dtype=np.int16), sizes)
    eligible = rng.random(rows) < 0.9
    return cells, eligible


def bench_draw(rows: int, runs: int) -> dict[str, float]:
    cells, eligible = make_frame(rows, seed=1)
    requested = np.full(CELLS, PER_CELL, dtype=np.int64)
    shuffle = np.random.default_rng(2).permutation(rows)
    cells_mixed, eligible_mixed = cells[shuffle], eligible[shuffle]

    def ours(run: int) -> object:
        return draw_stratified(cells, eligible, requested, np.random.default_rng(run))

    def ours_mixed(run: int) -> object:
        return draw_stratified(cells_mixed, eligible_mixed, requested, np.random.default_rng(run))

    drawn = len(draw_stratified(cells, eligible, requested, np.random.default_rng(0)).positions)
    result = {
        "ours_s": _median_seconds(runs, ours),
        "ours_ungrouped_s": _median_seconds(runs, ours_mixed),
        "ours_peak_rss_mb": _peak_rss_mb(),
        "drawn": float(drawn),
    }
    frame = pd.DataFrame({"case_id": np.arange(rows), "cell": cells_mixed})

    def pandas(run: int) -> object:
        return frame[eligible_mixed].groupby("cell").sample(n=PER_CELL, random_state=run)

    result["pandas_s"] = _median_seconds(runs, pandas)
    return result


SURVEY = """
[survey]
name = "bench"
interviews = 1000
margins = "margins.csv"
districts = ["C1", "C2", "C3", "C4", "C5"]
age_bands = ["18-34", "35-49", "50-64", "65+"]
sex = ["M", "F"]
"""


def bench_import(rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        survey = parse_survey(SURVEY, folder)
        grid: CellGrid = survey.grid
        population = np.full(grid.size, 1000, dtype=np.int64)
        (folder / "margins.csv").write_text(
            "district,age_band,sex,population\n"
            + "".join(f"{k.district},{k.age_band},{k.sex},1000\n" for k in grid.cells()),
            encoding="utf-8",
        )
        frame = synthesize(grid, population, rows, np.random.default_rng(3), malformed=0)
        path = folder / "frame.csv"
        path.write_text(frame.csv_text(), encoding="utf-8")
        start = time.perf_counter()
        report = asyncio.run(import_frame(folder / "s.sqlite", survey, path, []))
        seconds = time.perf_counter() - start
    return {
        "import_rows": float(report.summary.read),
        "import_s": seconds,
        "import_rows_per_s": report.summary.read / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    assert parse_age_band("65+").low == 65  # the grid above relies on open top bands

    draw = bench_draw(args.rows, args.runs)
    imported = bench_import(args.import_rows)
    peak = _peak_rss_mb()
    console = Console(width=120)
    table = Table(
        title=f"one release of {int(draw['drawn']):,} from {args.rows:,} rows, {CELLS} cells"
    )
    for column in ("method", "median s", "vs ours"):
        table.add_column(column, justify="right")
    ours = draw["ours_s"]
    for name, key in (
        ("ours (frame grouped by cell, as stored)", "ours_s"),
        ("ours (ungrouped input, sorts first)", "ours_ungrouped_s"),
        ("pandas groupby().sample(n=)", "pandas_s"),
    ):
        table.add_row(name, f"{draw[key]:.4f}", f"{draw[key] / ours:.1f}x")
    console.print(table)
    extra = Table(show_header=False)
    extra.add_row("speed-up over pandas (goal >= 10x)", f"{draw['pandas_s'] / ours:.1f}x")
    extra.add_row("peak RSS after our draws, MB", f"{draw['ours_peak_rss_mb']:.0f}")
    extra.add_row("peak RSS of the whole run, MB", f"{peak:.0f}")
    extra.add_row(
        f"import: {int(imported['import_rows']):,} rows",
        f"{imported['import_s']:.1f} s, {imported['import_rows_per_s']:,.0f} rows/s",
    )
    console.print(extra)
    if args.json:
        print(json.dumps({**draw, **imported, "peak_rss_mb": peak, "rows": args.rows}))


if __name__ == "__main__":
    main()
