"""Do-not-call lists: a file of numbers in any common format, one per line or in a CSV column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sampling.errors import FrameFileError
from sampling.phone import to_e164

_NUMBER_COLUMNS = ("phone", "number", "numero", "telefono", "msisdn", "e164")


def load_dnc(path: Path, region: str) -> set[str]:
    """The E.164 numbers on a do-not-call list; a line that is not a number is an error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FrameFileError(f"do-not-call list {path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FrameFileError(f"do-not-call list {path}: line {line}: not UTF-8") from None
    return parse_dnc(text, region, str(path))


def parse_dnc(text: str, region: str, name: str = "do-not-call list") -> set[str]:
    """Parse a do-not-call list: plain lines, or CSV with a header naming a number column."""
    lines = text.splitlines()
    dialect = _dialect(lines)
    column = 0
    numbers: set[str] = set()
    for number, fields in enumerate(csv.reader(io.StringIO(text), dialect), 1):
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        if number == _first_data_line(lines) and _is_header(fields):
            column = _number_column(fields, name, number)
            continue
        raw = fields[column].strip() if column < len(fields) else ""
        e164 = to_e164(raw, region)
        if e164 is None:
            raise FrameFileError(f"{name}: line {number}: {raw!r} is not a valid phone number")
        numbers.add(e164)
    return numbers


def _dialect(lines: list[str]) -> type[csv.Dialect]:
    sample = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    for delimiter in (";", "\t", ","):
        if delimiter in sample:
            return _make_dialect(delimiter)
    return _make_dialect("\x1f")  # plain one-number-per-line files: never split


def _make_dialect(delimiter: str) -> type[csv.Dialect]:
    class _D(csv.excel):
        pass

    _D.delimiter = delimiter
    return _D


def _first_data_line(lines: list[str]) -> int:
    for number, line in enumerate(lines, 1):
        if line.strip() and not line.lstrip().startswith("#"):
            return number
    return 0


def _is_header(fields: list[str]) -> bool:
    """A first line naming a number column (``e164``, or beside ``added_2024``), or holding
    no digit at all."""
    if any(f.strip().lower() in _NUMBER_COLUMNS for f in fields):
        return True
    return not any(ch.isdigit() for ch in "".join(fields))


def _number_column(fields: list[str], name: str, line: int) -> int:
    lowered = [f.strip().lower() for f in fields]
    for candidate in _NUMBER_COLUMNS:
        if candidate in lowered:
            return lowered.index(candidate)
    if len(fields) == 1:
        return 0
    raise FrameFileError(
        f"{name}: line {line}: header has no number column (one of {', '.join(_NUMBER_COLUMNS)})"
    )
