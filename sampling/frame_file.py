"""Reading a sample-frame CSV: each row becomes a frame case or a reject with its reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sampling.cells import CellGrid
from sampling.errors import FrameFileError
from sampling.phone import NumberRefused, respondent_e164, to_e164

REQUIRED = ("phone", "district", "sex")
AGE_COLUMNS = ("age", "age_band")


class RejectReason(StrEnum):
    """Why a frame row was not imported."""

    FIELD_COUNT = "field_count"
    EMPTY_FIELD = "empty_field"
    INVALID_PHONE = "invalid_phone"
    FOREIGN_PHONE = "foreign_phone"
    SERVICE_PHONE = "service_phone"
    """Premium rate, toll free, shared cost...: no respondent's."""
    UNKNOWN_DISTRICT = "unknown_district"
    INVALID_AGE = "invalid_age"
    AGE_OUT_OF_RANGE = "age_out_of_range"
    UNKNOWN_AGE_BAND = "unknown_age_band"
    INVALID_SEX = "invalid_sex"
    DUPLICATE = "duplicate"
    DO_NOT_CALL = "do_not_call"
    OTHER_CELL = "other_cell"
    """In the wave's frame already, where an earlier import put it in another cell."""


@dataclass(frozen=True, slots=True)
class FrameRow:
    """A valid frame row: the number in E.164 and the cell the frame puts it in."""

    line: int
    phone: str
    cell: int
    age: int | None
    attributes: dict[str, str]
    fields: list[str]


@dataclass(frozen=True, slots=True)
class Reject:
    """A row left out, with the line number in the file and why."""

    line: int
    reason: RejectReason
    detail: str
    fields: list[str]


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The columns of a frame file, checked against what the import needs."""

    columns: tuple[str, ...]

    def index(self, name: str) -> int | None:
        return self.columns.index(name) if name in self.columns else None

    @property
    def attribute_columns(self) -> tuple[str, ...]:
        used = set(REQUIRED) | set(AGE_COLUMNS)
        return tuple(c for c in self.columns if c not in used)


def decode_frame(data: bytes, name: str) -> str:
    """The file's text, with old Mac line ends (CR alone: Excel's "CSV (Macintosh)") read as
    line ends; a file that is not UTF-8 is an error naming the first bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise FrameFileError(
            f"{name}: line {line}: not UTF-8 (byte 0x{byte:02x}); save the file as UTF-8 "
            "(for a Latin-1 file: iconv -f latin1 -t utf-8)"
        ) from None
    if "\r" in text and "\n" not in text:
        return text.replace("\r", "\n")
    return text


def read_header(first: list[str] | None, name: str, region: str) -> FrameHeader:
    """Check the header row: required columns present, no duplicates; else one clear error."""
    if first is None or not any(f.strip() for f in first):
        raise FrameFileError(f"{name}: the file is empty; a header row is required")
    columns = tuple(f.strip().lower() for f in first)
    if to_e164(first[0], region) is not None or any(c.isdigit() for c in "".join(columns)[:1]):
        raise FrameFileError(
            f"{name}: line 1 looks like data, not a header; the first row must name the columns "
            f"({', '.join(REQUIRED)}, and age or age_band)"
        )
    missing = [c for c in REQUIRED if c not in columns]
    if not any(c in columns for c in AGE_COLUMNS):
        missing.append("age or age_band")
    if missing:
        raise FrameFileError(f"{name}: line 1: missing required column(s): {', '.join(missing)}")
    seen: set[str] = set()
    for column in columns:
        if not column:
            raise FrameFileError(f"{name}: line 1: a column has no name")
        if column in seen:
            raise FrameFileError(f"{name}: line 1: column {column!r} appears twice")
        seen.add(column)
    return FrameHeader(columns)


class RowValidator:
    """Turns raw CSV fields into a FrameRow or a Reject, for one survey's cells and region."""

    def __init__(self, header: FrameHeader, grid: CellGrid, region: str) -> None:
        self._header = header
        self._grid = grid
        self._region = region
        self._districts = {d.lower(): d for d in grid.districts}
        self._sexes = {s.lower(): s for s in grid.sexes}
        self._bands = {b.label.lower(): b.label for b in grid.age_bands}
        self._lowest = min(b.low for b in grid.age_bands)
        self._highest = max(b.high for b in grid.age_bands)
        at: Callable[[str], int | None] = header.index
        self._phone, self._district, self._sex = at("phone"), at("district"), at("sex")
        self._age, self._age_band = at("age"), at("age_band")
        self._extra = [(c, header.columns.index(c)) for c in header.attribute_columns]
        # Lookup tables: a frame has millions of rows and a handful of distinct values.
        self._cells = {(k.district, k.age_band, k.sex): i for i, k in enumerate(grid.cells())}
        self._band_of_age = {
            age: band.label for band in grid.age_bands for age in range(band.low, band.high + 1)
        }

    def validate(self, line: int, fields: list[str]) -> FrameRow | Reject:
        width = len(self._header.columns)
        if len(fields) != width:
            return Reject(
                line,
                RejectReason.FIELD_COUNT,
                f"expected {width} fields, found {len(fields)}",
                fields,
            )
        get = _getter(fields)
        for column, index in (
            ("phone", self._phone),
            ("district", self._district),
            ("sex", self._sex),
        ):
            if not get(index):
                return Reject(line, RejectReason.EMPTY_FIELD, f"{column} is empty", fields)
        raw_age, raw_band = get(self._age), get(self._age_band)
        if not raw_age and not raw_band:
            which = " and ".join(c for c in AGE_COLUMNS if c in self._header.columns)
            return Reject(line, RejectReason.EMPTY_FIELD, f"{which} is empty", fields)
        try:
            phone = respondent_e164(get(self._phone), self._region)
        except NumberRefused as refused:
            reason = RejectReason.FOREIGN_PHONE if refused.foreign else RejectReason.SERVICE_PHONE
            return Reject(line, reason, str(refused), fields)
        if phone is None:
            return Reject(
                line,
                RejectReason.INVALID_PHONE,
                f"{get(self._phone)!r} is not a valid number",
                fields,
            )
        district = self._districts.get(get(self._district).lower())
        if district is None:
            detail = f"district {get(self._district)!r} is not one of the survey's"
            return Reject(line, RejectReason.UNKNOWN_DISTRICT, detail, fields)
        sex = self._sexes.get(get(self._sex).lower())
        if sex is None:
            detail = f"sex {get(self._sex)!r} is not one of {', '.join(self._grid.sexes)}"
            return Reject(line, RejectReason.INVALID_SEX, detail, fields)
        age: int | None = None
        if raw_age:
            try:
                age = int(raw_age)
            except ValueError:
                return Reject(
                    line, RejectReason.INVALID_AGE, f"age {raw_age!r} is not a number", fields
                )
            found = self._band_of_age.get(age)
            if found is None:
                detail = f"age {age} is outside {self._lowest}-{self._highest}"
                return Reject(line, RejectReason.AGE_OUT_OF_RANGE, detail, fields)
            band_label = found
        else:
            label = self._bands.get(raw_band.lower())
            if label is None:
                detail = f"age band {raw_band!r} is not one of the survey's"
                return Reject(line, RejectReason.UNKNOWN_AGE_BAND, detail, fields)
            band_label = label
        cell = self._cells[(district, band_label, sex)]
        attributes = {column: fields[index] for column, index in self._extra if fields[index]}
        return FrameRow(line, phone, cell, age, attributes, fields)


def _getter(fields: list[str]) -> Callable[[int | None], str]:
    def get(index: int | None) -> str:
        return fields[index].strip() if index is not None else ""

    return get


@dataclass
class FrameReading:
    """The outcome of reading a frame file, before anything is stored."""

    header: FrameHeader
    rows: list[FrameRow]
    rejects: list[Reject]
    already_in_frame: int = 0
    read: int = 0


def check_rows(
    validator: RowValidator, rows: Iterable[tuple[int, list[str]]]
) -> Iterator[FrameRow | Reject]:
    """Validate each non-blank row on its own (no duplicate or do-not-call check yet)."""
    for line, fields in rows:
        if fields and (len(fields) > 1 or fields[0].strip()):
            yield validator.validate(line, fields)


def collate(
    header: FrameHeader,
    results: Iterable[FrameRow | Reject],
    dnc: set[str],
    existing: Mapping[str, int],
    progress: Callable[[int], None] | None = None,
) -> FrameReading:
    """Apply the whole-file rules in line order: first of duplicate numbers wins, DNC is rejected.

    ``existing`` holds numbers already in this wave's frame, with their cells: they are
    counted, not re-imported, so importing the same file twice adds nothing; one the file
    puts in another cell is rejected, so the change is seen (the first classification
    stands).
    """
    reading = FrameReading(header, [], [])
    first_line: dict[str, int] = {}
    for result in results:
        reading.read += 1
        if progress is not None and reading.read % 10_000 == 0:
            progress(reading.read)
        if isinstance(result, Reject):
            reading.rejects.append(result)
        elif result.phone in first_line:
            detail = f"same number as line {first_line[result.phone]}"
            reading.rejects.append(_reject_row_of(result, RejectReason.DUPLICATE, detail))
        else:
            first_line[result.phone] = result.line
            if result.phone in dnc:
                detail = "on the do-not-call list"
                reading.rejects.append(_reject_row_of(result, RejectReason.DO_NOT_CALL, detail))
            elif (cell := existing.get(result.phone)) is not None:
                if cell == result.cell:
                    reading.already_in_frame += 1
                else:
                    detail = "already in this wave's frame, in another cell (kept there)"
                    reject = _reject_row_of(result, RejectReason.OTHER_CELL, detail)
                    reading.rejects.append(reject)
            else:
                reading.rows.append(result)
    return reading


def _reject_row_of(row: FrameRow, reason: RejectReason, detail: str) -> Reject:
    return Reject(row.line, reason, detail, row.fields)
