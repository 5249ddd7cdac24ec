"""``dialer frame make|import``, ``dialer quotas``, ``dialer release``."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dialer.commands.output import console
from dialer.frame_import import ImportReport, import_frame
from dialer.store.db import StoreError, connect
from dialer.store.quotas import CellCounts, load_counts
from dialer.store.releases import ReleaseResult, fresh_seed, make_release, plan_release
from dialer.store.waves import ensure_wave, find_wave, wave_definition
from sampling.errors import SamplingError
from sampling.margins import load_margins
from sampling.release import thin_cells
from sampling.survey import Survey, load_survey
from sampling.synth import synthesize

CITIES = {"la-spezia": "la_spezia"}
PROGRESS_FROM_LINES = 100_000  # about two seconds of validation: show a bar past this


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the sampling subcommands."""
    frame = sub.add_parser("frame", help="make or import a sample frame")
    frame_sub = frame.add_subparsers(dest="frame_command", required=True)

    make = frame_sub.add_parser("make", help="build a synthetic frame for a city's margins")
    make.add_argument("--out-dir", type=Path, required=True, help="where to write the files")
    make.add_argument("--city", choices=sorted(CITIES), default="la-spezia")
    make.add_argument("--rows", type=int, default=20_000, help="good rows in the frame")
    make.add_argument("--seed", type=seed, default=1)
    make.add_argument("--wrong-share", type=float, default=0.08, help="rows with a wrong attribute")
    make.add_argument(
        "--malformed", type=int, default=12, help="bad rows to show the reject report"
    )
    make.add_argument("--dnc-share", type=float, default=0.005, help="share put on do-not-call")
    make.add_argument("--force", action="store_true", help="overwrite survey files not ours")
    make.set_defaults(handler=_frame_make)

    imp = frame_sub.add_parser("import", help="import a frame CSV into the survey's wave")
    _survey_args(imp)
    imp.add_argument("frame", type=Path, help="the frame CSV (UTF-8, with a header)")
    imp.add_argument("--dnc", type=Path, action="append", default=[], help="do-not-call list")
    imp.set_defaults(handler=_frame_import)

    quotas = sub.add_parser("quotas", help="the quota design and the fill per cell")
    _survey_args(quotas)
    quotas.set_defaults(handler=_quotas)

    release = sub.add_parser("release", help="draw and release the next replicate")
    _survey_args(release)
    release.add_argument("--seed", type=seed, help="seed for the draw (default: a fresh one)")
    release.set_defaults(handler=_release)


def seed(text: str) -> int:
    """A random seed as numpy takes it: a whole number from 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0")
    return value


def _survey_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--survey", type=Path, required=True, help="the survey definition (TOML)")
    parser.add_argument("--db", type=Path, default=Path("dialer.sqlite"), help="the store file")


@dataclass(frozen=True, slots=True)
class MadeFrame:
    survey: Path
    frame: Path
    dnc: Path


MADE = ("survey.toml", "margins.csv", "questionnaire.toml", "frame.csv", "dnc.txt")
MARK = ".made-by-dialer"
"""Left in a folder ``frame make`` (or the demo) wrote: it may write there again."""


def make_frame(args: argparse.Namespace) -> MadeFrame:
    """Write survey.toml, margins.csv, questionnaire.toml, frame.csv and dnc.txt for a city
    into ``out_dir``; files of those names that it did not write are overwritten only with
    ``force`` (a survey folder copied from the example holds exactly these names)."""
    out: Path = args.out_dir
    theirs = [name for name in MADE if (out / name).exists()]
    if theirs and not (out / MARK).exists() and not getattr(args, "force", False):
        raise SamplingError(
            f"{out} holds {', '.join(theirs)}, not written by dialer: pick another folder, "
            "or pass --force to overwrite them"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARK).write_text("written by dialer frame make or dialer demo\n", encoding="utf-8")
    data = resources.files("sampling") / "data" / CITIES[args.city]
    for name in ("survey.toml", "margins.csv", "questionnaire.toml"):
        with resources.as_file(data / name) as source:
            shutil.copyfile(source, out / name)
    survey = load_survey(out / "survey.toml")
    population = load_margins(survey.margins_path, survey.grid)
    frame = synthesize(
        survey.grid,
        population,
        args.rows,
        np.random.default_rng(args.seed),
        args.wrong_share,
        args.malformed,
        args.dnc_share,
    )
    (out / "frame.csv").write_text(frame.csv_text(), encoding="utf-8")
    (out / "dnc.txt").write_text(frame.dnc_text(), encoding="utf-8")
    return MadeFrame(out / "survey.toml", out / "frame.csv", out / "dnc.txt")


def _frame_make(args: argparse.Namespace) -> int:
    made = make_frame(args)
    console.print(
        f"wrote {made.frame} ({args.rows} rows + {args.malformed} malformed), {made.dnc}, "
        f"{made.survey} and its margins"
    )
    return 0


def _frame_import(args: argparse.Namespace) -> int:
    survey = load_survey(args.survey)
    report = asyncio.run(_import_with_progress(args.db, survey, args.frame, args.dnc))
    print_import(report)
    print_quotas(survey, asyncio.run(_counts(args.db, survey)), thin_only=True)
    return 0


async def _import_with_progress(
    db: Path, survey: Survey, frame: Path, dnc: list[Path]
) -> ImportReport:
    with Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(frame.name, visible=False)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, visible=total >= PROGRESS_FROM_LINES)

        return await import_frame(db, survey, frame, dnc, progress)


def print_import(report: ImportReport) -> None:
    s = report.summary
    table = Table(title="frame import", show_header=False)
    table.add_row("rows read", f"{s.read:,}")
    table.add_row("imported", f"{s.imported:,}")
    table.add_row("already in the frame", f"{s.already_in_frame:,}")
    table.add_row("rejected", f"{s.rejected_total:,}")
    for reason, count in s.rejected.items():
        table.add_row(f"  {reason}", f"{count:,}")
    console.print(table)
    console.print(f"rejects written to {report.rejects_path}")


async def _counts(db_path: Path, survey: Survey) -> CellCounts:
    """The wave's counts as stored (a report: it writes nothing, targets included)."""
    async with connect(db_path) as db:
        wave = await find_wave(db, survey)
        if wave is None:
            raise StoreError(
                f"{db_path} holds no wave {survey.wave} of survey {survey.name!r}; "
                "import a frame first"
            )
        if await wave_definition(db, wave) != survey.source_text:
            print(
                "note: the store's wave was defined by another version of this survey file; "
                "the quotas shown are the stored ones (the campaign's next start applies "
                "the file's)",
                file=sys.stderr,
            )
        return await load_counts(db, survey, wave)


def _quotas(args: argparse.Namespace) -> int:
    survey = load_survey(args.survey)
    if not args.db.exists():  # connecting would create it
        raise StoreError(f"{args.db}: no such store; import a frame first")
    print_quotas(survey, asyncio.run(_counts(args.db, survey)))
    return 0


def print_quotas(survey: Survey, counts: CellCounts, thin_only: bool = False) -> None:
    """The design and fill per cell; with ``thin_only``, just the cells the frame cannot fill."""
    plan = plan_release(counts, survey)
    supply = counts.available + counts.released
    thin = thin_cells(plan.need, plan.expected_yield, supply)
    if thin_only:
        if thin.any():
            names = ", ".join(str(k) for k, t in zip(survey.grid.cells(), thin, strict=True) if t)
            console.print(f"[yellow]thin cells (frame too small at the expected yield): {names}")
        return
    table = Table(title=f"{survey.name} wave {survey.wave}: quotas")
    for column in ("cell", "population", "target", "completes", "in progress", "fill"):
        table.add_column(column, justify="right")
    for column in ("frame", "available", "released", "yield", "status"):
        table.add_column(column, justify="right")
    for i, key in enumerate(survey.grid.cells()):
        target = int(counts.target[i])
        fill = f"{counts.completes[i] / target:.0%}" if target else "-"
        status = "closed" if counts.completes[i] >= target else "open"
        if thin[i]:
            status += " THIN"
        table.add_row(
            str(key),
            f"{counts.population[i]:,}",
            str(target),
            str(counts.completes[i]),
            str(counts.in_progress[i]),
            fill,
            f"{counts.frame_total[i]:,}",
            f"{counts.available[i]:,}",
            f"{counts.released[i]:,}",
            f"{plan.expected_yield[i]:.3f}",
            status,
        )
    table.add_section()
    total = int(counts.target.sum())
    table.add_row(
        "total",
        f"{counts.population.sum():,}",
        str(total),
        str(counts.completes.sum()),
        str(counts.in_progress.sum()),
        f"{counts.completes.sum() / total:.0%}" if total else "-",
        f"{counts.frame_total.sum():,}",
        f"{counts.available.sum():,}",
        f"{counts.released.sum():,}",
        "",
        f"{int((counts.completes >= counts.target).sum())} closed",
    )
    console.print(table)


def _release(args: argparse.Namespace) -> int:
    survey = load_survey(args.survey)
    seed = args.seed if args.seed is not None else fresh_seed()
    result = asyncio.run(release(args.db, survey, seed))
    print_release(survey, result)
    return 0


async def release(db_path: Path, survey: Survey, seed: int) -> ReleaseResult:
    population = load_margins(survey.margins_path, survey.grid)
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, population, update_targets=False)
        return await make_release(db, survey, wave, seed)


def print_release(survey: Survey, result: ReleaseResult) -> None:
    table = Table(title=f"release {result.release_id} (seed {result.seed})")
    for column in ("cell", "need", "yield", "outstanding", "available", "requested", "drawn"):
        table.add_column(column, justify="right")
    plan = result.plan
    for i, key in enumerate(survey.grid.cells()):
        if plan.requested[i] == 0 and plan.need[i] == 0:
            continue
        table.add_row(
            str(key),
            str(plan.need[i]),
            f"{plan.expected_yield[i]:.3f}",
            str(plan.counts.released[i]),
            f"{plan.counts.available[i]:,}",
            str(plan.requested[i]),
            str(result.drawn[i]),
        )
    table.add_section()
    table.add_row(
        "total",
        str(plan.need.sum()),
        "",
        str(plan.counts.released.sum()),
        f"{plan.counts.available.sum():,}",
        str(plan.requested.sum()),
        str(result.size),
    )
    console.print(table)
    short = plan.requested > result.drawn
    if short.any():
        console.print(f"[yellow]{int(short.sum())} cell(s) had fewer numbers left than requested")
