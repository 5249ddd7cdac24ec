"""Importing a frame file into the store: validate everything, then write it all at once."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from dialer.store.db import connect
from dialer.store.frame import ImportSummary, dnc_numbers, existing_phones, write_import
from dialer.store.waves import ensure_wave
from sampling.dnc import load_dnc
from sampling.errors import FrameFileError
from sampling.frame_file import FrameReading, Reject, decode_frame, read_header, validate_rows
from sampling.margins import load_margins
from sampling.survey import Survey

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """An import's summary and where its rejects were written."""

    summary: ImportSummary
    rejects_path: Path


def rejects_path_for(frame: Path) -> Path:
    return frame.with_name(frame.stem + ".rejects.csv")


async def import_frame(
    db_path: Path,
    survey: Survey,
    frame: Path,
    dnc_files: list[Path],
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import ``frame`` into the survey's current wave.

    A file that is not UTF-8, has no header or lacks a required column is refused before
    anything is written. Bad rows are rejected one by one into a CSV beside the file.
    """
    # File work and validation run in a worker thread: the dialer's event loop keeps serving.
    population, new_dnc, data, text = await asyncio.to_thread(
        _read_inputs, survey, frame, dnc_files
    )
    reader = csv.reader(io.StringIO(text, newline=""))
    header = read_header(next(reader, None), str(frame), survey.region)
    total_lines = text.count("\n")
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, population)
        dnc = new_dnc | await dnc_numbers(db)
        existing = await existing_phones(db, wave.wave_id)
        numbered = ((reader.line_num, fields) for fields in reader)
        report = (lambda done: progress(done, total_lines)) if progress else None
        reading = await asyncio.to_thread(
            validate_rows, header, numbered, survey.grid, survey.region, dnc, existing, report
        )
        rejects = rejects_path_for(frame)
        partial = rejects.with_name(rejects.name + ".partial")
        await asyncio.to_thread(_write_rejects, partial, reading)
        try:
            summary = await write_import(
                db, wave, reading, str(frame), hashlib.sha256(data).hexdigest(), new_dnc
            )
        except BaseException:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise
        await asyncio.to_thread(os.replace, partial, rejects)
    log.info(
        "frame imported",
        survey=survey.name,
        wave=survey.wave,
        source=str(frame),
        read=summary.read,
        imported=summary.imported,
        rejected=summary.rejected_total,
        already_in_frame=summary.already_in_frame,
    )
    return ImportReport(summary, rejects)


def _read_inputs(
    survey: Survey, frame: Path, dnc_files: list[Path]
) -> tuple[npt.NDArray[np.int64], set[str], bytes, str]:
    """Margins, do-not-call numbers and the frame's text: every file error before any write."""
    population = load_margins(survey.margins_path, survey.grid)
    new_dnc: set[str] = set()
    for path in dnc_files:
        new_dnc |= load_dnc(path, survey.region)
    try:
        data = frame.read_bytes()
    except OSError as exc:
        raise FrameFileError(f"{frame}: cannot read: {exc.strerror}") from None
    return population, new_dnc, data, decode_frame(data, str(frame))


def _write_rejects(path: Path, reading: FrameReading) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "reason", "detail", *reading.header.columns])
        writer.writerows(_reject_row(r) for r in reading.rejects)


def _reject_row(reject: Reject) -> list[str]:
    return [str(reject.line), str(reject.reason), reject.detail, *reject.fields]
