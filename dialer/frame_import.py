"""Importing a frame file into the store: validate everything, then write it all at once."""

from __future__ import annotations

import asyncio
import csv
import gc
import hashlib
import io
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from dialer.store.db import connect
from dialer.store.frame import ImportSummary, dnc_numbers, existing_phones, write_import
from dialer.store.waves import ensure_wave
from sampling.cells import CellGrid
from sampling.dnc import load_dnc
from sampling.errors import FrameFileError
from sampling.frame_file import (
    FrameHeader,
    FrameReading,
    FrameRow,
    Reject,
    RowValidator,
    check_rows,
    collate,
    decode_frame,
    read_header,
)
from sampling.margins import load_margins
from sampling.survey import Survey

log = structlog.get_logger(__name__)

PARALLEL_FROM_LINES = 50_000  # below this, starting worker processes costs more than it saves
CHUNK_CHARS = 1_000_000  # about 20,000 rows a piece
CHUNK_ROWS = 20_000


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
    first = next(csv.reader(io.StringIO(text[: text.find("\n") + 1 or len(text)])), None)
    header = read_header(first, str(frame), survey.region)
    body = text.find("\n") + 1 if "\n" in text else len(text)
    total_lines = text.count("\n")
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, population, update_targets=False)
        dnc = new_dnc | await dnc_numbers(db)
        existing = await existing_phones(db, wave)
        report = (lambda done: progress(done, total_lines)) if progress else None
        job = _Job(header, survey.grid, survey.region, str(frame))
        reading = await asyncio.to_thread(
            _validate, job, text, body, total_lines >= PARALLEL_FROM_LINES, dnc, existing, report
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


@dataclass(frozen=True, slots=True)
class _Job:
    """What a worker needs to check rows: the header, the survey's cells, the region."""

    header: FrameHeader
    grid: CellGrid
    region: str
    name: str


def _validate(
    job: _Job,
    text: str,
    body: int,
    parallel: bool,
    dnc: set[str],
    existing: Mapping[str, int],
    progress: Callable[[int], None] | None,
) -> FrameReading:
    """Check every row, on all cores for a large file (phone parsing is most of the cost), then
    apply the whole-file rules in line order.

    Without a quote character in the file every line is one record, and workers parse their
    own share of the lines; otherwise one csv reader here cuts the records (a quoted field may
    hold a line break or a lone quote) and workers get them in batches.
    """
    work: Iterable[tuple[_Job, int, str | list[tuple[int, list[str]]]]]
    if '"' not in text[body:]:
        work = ((job, line, piece) for line, piece in line_chunks(text, body, CHUNK_CHARS))
    else:
        records = numbered_records(
            io.StringIO(text[body:], newline=""), body_line(text, body), job.name,
            len(job.header.columns),
        )  # fmt: skip
        work = ((job, 0, batch) for batch in _batches(records, CHUNK_ROWS))
    if not parallel:
        checked = itertools.chain.from_iterable(map(_check_chunk, work))
        return collate(job.header, checked, dnc, existing, progress)
    # Workers live for one import and make millions of short-lived objects: the cyclic garbage
    # collector only costs them time (it doubled some chunks' pickling, measured).
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, initializer=gc.disable) as pool:
        checked = itertools.chain.from_iterable(pool.map(_check_chunk, work))
        return collate(job.header, checked, dnc, existing, progress)


def _check_chunk(
    work: tuple[_Job, int, str | list[tuple[int, list[str]]]],
) -> list[FrameRow | Reject]:
    job, first_line, piece = work
    rows = (
        numbered_records(io.StringIO(piece, newline=""), first_line, job.name)
        if isinstance(piece, str)
        else piece
    )
    return list(check_rows(RowValidator(job.header, job.grid, job.region), rows))


def numbered_records(
    source: io.StringIO, first_line: int, name: str, columns: int | None = None
) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the file line each starts on; a malformed file is a FrameFileError,
    and so is a field whose quote was left open, swallowing the records after it (their
    numbers were neither imported nor rejected). A quoted line break in a note is kept."""
    reader = csv.reader(source)
    previous_end = 0
    try:
        for fields in reader:
            if reader.line_num - previous_end > 1 and _swallows_records(fields, columns):
                start, end = first_line + previous_end, first_line + reader.line_num - 1
                raise FrameFileError(
                    f"{name}: lines {start}-{end}: a quote left open makes them one record"
                )
            yield first_line + previous_end, fields
            previous_end = reader.line_num
    except csv.Error as exc:
        line = first_line + previous_end
        raise FrameFileError(f"{name}: line {line}: not a valid CSV record ({exc})") from None


def _swallows_records(fields: list[str], columns: int | None) -> bool:
    """Whether a field runs over a line that looks like a record of ``columns`` fields
    (the header's): as many commas and a number in it, the lines a quote left open swallowed,
    not a note's line break (an address's commas hold no phone number)."""
    separators = (columns or len(fields)) - 1
    return any(
        line.count(",") >= separators and _NUMBER_RUN.search(_PUNCTUATION.sub("", line))
        for field in fields
        if "\n" in field
        for line in field.split("\n")[1:]
    )


_NUMBER_RUN = re.compile(r"\d{6}")
_PUNCTUATION = re.compile(r"[\s().\-/]")  # how numbers are written: +39 0187 20-00-01


def body_line(text: str, body: int) -> int:
    """The file line number at character offset ``body``."""
    return text.count("\n", 0, body) + 1


def line_chunks(text: str, start: int, size: int) -> Iterator[tuple[int, str]]:
    """Split text from ``start`` into pieces of about ``size`` characters ending at line breaks,
    with the file line each piece starts on (for files with no quoted fields)."""
    line = body_line(text, start)
    while start < len(text):
        end = text.find("\n", min(start + size, len(text)))
        end = len(text) if end < 0 else end + 1
        yield line, text[start:end]
        line += text.count("\n", start, end)
        start = end


def _batches(
    rows: Iterable[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


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
