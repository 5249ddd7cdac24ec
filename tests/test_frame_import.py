"""Frame import: every kind of bad row is rejected with its line and reason, nothing is lost."""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from dialer import frame_import
from dialer.frame_import import import_frame
from dialer.store.db import StoreError, connect
from dialer.store.frame import write_import
from dialer.store.waves import find_wave
from sampling.dnc import parse_dnc
from sampling.errors import FrameFileError
from sampling.frame_file import FrameReading
from sampling.survey import Survey
from tests.conftest import landline, write_frame

GOOD = [f"{landline(i)},North,{20 + i % 60},{'MF'[i % 2]},n{i}" for i in range(10)]


def rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def stored_phones(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as db:
        query = "SELECT phone FROM sample_case ORDER BY import_id, source_line"
        return [r[0] for r in db.execute(query)]


async def test_every_kind_of_bad_row_is_rejected_with_line_and_reason(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Bad number, district, age, sex; empty field; field count; duplicate; DNC: each named."""
    bad = [
        "0187 1,North,30,M,short number",  # line 3
        f"{landline(100)},Atlantis,30,M,district",  # 4
        f"{landline(101)},North,17,M,too young",  # 5
        f"{landline(102)},North,121,F,too old",  # 6
        f"{landline(103)},North,thirty,F,not a number",  # 7
        f"{landline(104)},North,30,Q,sex",  # 8
        ",North,30,M,empty phone",  # 9
        f"{landline(105)},North,30,M",  # 10: a field missing
        f"{landline(106)},North,30,M,x,y",  # 11: a field too many
        f"+39 {landline(0)},South,44,F,duplicate of line 2",  # 12
        f"{landline(107)},South,,F,empty age",  # 13
        f"{landline(108)},South,50,F,on dnc",  # 14
    ]
    frame = write_frame(tmp_path / "frame.csv", [GOOD[0], *bad, *GOOD[1:]])
    (tmp_path / "dnc.txt").write_text(f"+39 {landline(108)}\n", encoding="utf-8")
    report = await import_frame(db_path, survey, frame, [tmp_path / "dnc.txt"])
    got = [(int(r["line"]), r["reason"]) for r in rejects(report.rejects_path)]
    assert [
        (3, "invalid_phone"),
        (4, "unknown_district"),
        (5, "age_out_of_range"),
        (6, "age_out_of_range"),
        (7, "invalid_age"),
        (8, "invalid_sex"),
        (9, "empty_field"),
        (10, "field_count"),
        (11, "field_count"),
        (12, "duplicate"),
        (13, "empty_field"),
        (14, "do_not_call"),
    ] == got
    assert "same number as line 2" == rejects(report.rejects_path)[9]["detail"]
    assert 10 == report.summary.imported
    assert 22 == report.summary.read
    assert ["+39" + landline(i) for i in range(10)] == stored_phones(db_path)


async def test_foreign_and_service_numbers_are_no_respondents(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A council's survey calls its own country's households and people: another country's
    number, premium rate, toll free and shared cost are rejected with what they are; mobiles
    are kept."""
    rows = [
        "+41 44 668 18 00,North,30,M,Zurich",  # line 3
        "+1 650 253 0000,North,30,M,California",  # 4
        "899 123456,North,30,M,premium",  # 5
        "800 123 456,North,30,M,toll free",  # 6
        "848 123456,North,30,M,shared cost",  # 7
        "347 123 4567,North,30,M,mobile",  # 8
    ]
    frame = write_frame(tmp_path / "frame.csv", [GOOD[0], *rows])
    report = await import_frame(db_path, survey, frame, [])
    got = [(r["line"], r["reason"], r["detail"]) for r in rejects(report.rejects_path)]
    assert [
        ("3", "foreign_phone", "'+41 44 668 18 00' is another country's (+41)"),
        ("4", "foreign_phone", "'+1 650 253 0000' is another country's (+1)"),
        ("5", "service_phone", "'899 123456' is a premium rate number"),
        ("6", "service_phone", "'800 123 456' is a toll free number"),
        ("7", "service_phone", "'848 123456' is a shared cost number"),
    ] == got
    assert ["+39" + landline(0), "+393471234567"] == stored_phones(db_path)


async def test_a_frame_saved_with_old_mac_line_ends_imports_as_any_other(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Excel's "CSV (Macintosh)" ends lines with CR alone: the rows are read, and a bad one
    is named by its line, as in any other file (it was a csv traceback)."""
    frame = tmp_path / "mac.csv"
    lines = ["phone,district,age,sex,note", *GOOD[:3], "0187 1,North,30,M,short", GOOD[3]]
    frame.write_bytes("\r".join(lines).encode() + b"\r")
    report = await import_frame(db_path, survey, frame, [])
    assert 4 == report.summary.imported
    assert [("5", "invalid_phone")] == [
        (r["line"], r["reason"]) for r in rejects(report.rejects_path)
    ]


async def test_numbers_are_stored_as_e164_and_extra_columns_kept(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Numbers written in several ways become E.164; other columns become case attributes."""
    frame = write_frame(
        tmp_path / "f.csv",
        ["0039 333 1234567,south,70,f,mobile", "+39 0187 512345,NORTH,18,m,"],
    )
    await import_frame(db_path, survey, frame, [])
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT c.phone, k.district, k.age_band, k.sex, c.age, c.attributes"
            " FROM sample_case c JOIN cell k ON k.id = c.cell_id ORDER BY c.source_line"
        ).fetchall()
    assert [
        ("+393331234567", "South", "65+", "F", 70, '{"note": "mobile"}'),
        ("+390187512345", "North", "18-34", "M", 18, None),
    ] == rows


async def test_age_band_column_is_accepted_instead_of_age(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A frame with age_band instead of age uses the band; an unknown band is rejected."""
    frame = write_frame(
        tmp_path / "f.csv",
        [f"{landline(1)},North,65+,F", f"{landline(2)},North,90+,F"],
        header="phone,district,age_band,sex",
    )
    report = await import_frame(db_path, survey, frame, [])
    assert 1 == report.summary.imported
    assert {"unknown_age_band": 1} == report.summary.rejected


async def test_importing_the_same_file_twice_adds_nothing(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A second import of the same file stores no new case and says they were already there."""
    frame = write_frame(tmp_path / "frame.csv", GOOD)
    first = await import_frame(db_path, survey, frame, [])
    second = await import_frame(db_path, survey, frame, [])
    assert (10, 0) == (first.summary.imported, first.summary.already_in_frame)
    assert (0, 10) == (second.summary.imported, second.summary.already_in_frame)
    assert 10 == len(stored_phones(db_path))


async def test_a_number_the_next_file_puts_in_another_cell_is_rejected_not_moved(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A later file that says a number lives in another district (or age band, or sex) is
    not silently counted as already there: the row is a reject naming it, and the case
    stays where the first import put it."""
    await import_frame(db_path, survey, write_frame(tmp_path / "a.csv", GOOD), [])
    moved = [*GOOD[:3], GOOD[3].replace(",North,", ",South,"), *GOOD[4:]]
    report = await import_frame(db_path, survey, write_frame(tmp_path / "b.csv", moved), [])
    assert (0, 9) == (report.summary.imported, report.summary.already_in_frame)
    got = [(r["line"], r["reason"], r["detail"]) for r in rejects(report.rejects_path)]
    assert [
        ("5", "other_cell", "already in this wave's frame, in another cell (kept there)")
    ] == got
    with sqlite3.connect(db_path) as db:
        district = db.execute(
            "SELECT c.district FROM sample_case s JOIN cell c ON c.id = s.cell_id"
            " WHERE s.phone = ?",
            ("+39" + landline(3),),
        ).fetchone()
    assert ("North",) == district


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"phone,district,age,sex\n0187200000,North,30,M\n"
            + "0187200001,Nörth,30,M\n".encode("latin-1"),
            "line 3: not UTF-8",
        ),
        (b"", "empty"),
        (b"0187200000,North,30,M\n", "line 1 looks like data"),
        (
            b"phone,district,sex\n0187200000,North,M\n",
            "missing required column(s): age or age_band",
        ),
        (b"telefono,district,age,sex\n", "missing required column(s): phone"),
        (b"phone,district,age,sex,age\n", "column 'age' appears twice"),
    ],
)
async def test_a_bad_file_is_refused_whole_and_nothing_stored_is_lost(
    tmp_path: Path, survey: Survey, db_path: Path, content: bytes, message: str
) -> None:
    """Latin-1, no header or a missing column: one clear error, and the earlier import intact."""
    await import_frame(db_path, survey, write_frame(tmp_path / "ok.csv", GOOD), [])
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(FrameFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await import_frame(db_path, survey, bad, [])
    assert 10 == len(stored_phones(db_path))
    assert not (tmp_path / "bad.rejects.csv").exists()


async def test_a_failed_write_leaves_no_half_import(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """If the store refuses part of the frame, none of it is stored and no rejects file is left."""
    await import_frame(db_path, survey, write_frame(tmp_path / "ok.csv", GOOD[:2]), [])
    with sqlite3.connect(db_path) as db:  # a trigger stands in for a disk error mid-import
        db.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON sample_case WHEN NEW.phone LIKE '%200009'"
            " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        await import_frame(db_path, survey, write_frame(tmp_path / "more.csv", GOOD), [])
    assert 2 == len(stored_phones(db_path))
    with sqlite3.connect(db_path) as db:
        assert 1 == db.execute("SELECT count(*) FROM frame_import").fetchone()[0]
    assert not (tmp_path / "more.rejects.csv").exists()


async def test_dnc_list_in_csv_with_bad_number_names_the_line(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A do-not-call line that is not a number is an error naming the line; nothing is imported."""
    (tmp_path / "dnc.csv").write_text("name;telefono\nA;0187200001\nB;call me\n", encoding="utf-8")
    with pytest.raises(FrameFileError, match="line 3: 'call me'"):
        await import_frame(
            db_path, survey, write_frame(tmp_path / "f.csv", GOOD), [tmp_path / "dnc.csv"]
        )
    assert not db_path.exists()


@pytest.mark.parametrize(
    "text",
    [
        "e164\n+390187200001\n",  # the code's own column name
        "phone,added_2024\n0187200001,2024-05-01\n",  # a digit beside the number column
        "+390187200001\n",  # no header at all
    ],
)
def test_a_dnc_lists_header_is_told_from_its_numbers(text: str) -> None:
    assert {"+390187200001"} == parse_dnc(text, "IT")


@pytest.mark.parametrize("parallel_from", [10**9, 0])
async def test_quotes_and_line_breaks_in_fields_parse_as_csv_does(
    tmp_path: Path,
    survey: Survey,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    parallel_from: int,
) -> None:
    """A lone quote mid-field, a quoted comma and a quoted line break read exactly as csv reads
    them, serially and on workers with tiny batches; rejects name the record's first line."""
    monkeypatch.setattr("dialer.frame_import.PARALLEL_FROM_LINES", parallel_from)
    monkeypatch.setattr("dialer.frame_import.CHUNK_ROWS", 2)
    rows = [
        f'{landline(1)},North,30,M,O"Brien',  # line 2: a literal quote mid-field
        f'{landline(2)},North,31,F,"Rossi, Mario"',  # 3
        f'{landline(3)},North,32,M,"two\nlines"',  # 4-5
        "0187 1,North,33,F,bad number",  # 6
        f'"{landline(4)}",North,34,M,"12"" tv"',  # 7
    ]
    frame = write_frame(tmp_path / "frame.csv", rows)
    report = await import_frame(db_path, survey, frame, [])
    with sqlite3.connect(db_path) as db:
        stored = db.execute(
            "SELECT source_line, attributes FROM sample_case ORDER BY source_line"
        ).fetchall()
    assert [
        (2, '{"note": "O\\"Brien"}'),
        (3, '{"note": "Rossi, Mario"}'),
        (4, '{"note": "two\\nlines"}'),
        (7, '{"note": "12\\" tv"}'),
    ] == stored
    assert [(6, "invalid_phone")] == [
        (int(r["line"]), r["reason"]) for r in rejects(report.rejects_path)
    ]


async def test_a_malformed_csv_file_is_one_clear_error(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A quote never closed swallows the file past csv's field limit: one error naming where
    the record starts, and nothing stored."""
    filler = "".join(f"{landline(i)},North,30,M,row {i}\n" for i in range(10, 5000))
    frame = tmp_path / "bad.csv"
    frame.write_text(f'phone,district,age,sex,note\n{landline(1)},North,30,M,"open\n{filler}')
    with pytest.raises(FrameFileError, match="line 2: not a valid CSV record"):
        await import_frame(db_path, survey, frame, [])
    assert not db_path.exists() or 0 == len(stored_phones(db_path))


async def test_a_quote_left_open_over_whole_records_is_one_clear_error(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """An address whose quote is never closed, with a quote further down closing it: the
    records between would read as one field of one row. One error naming the lines, and
    nothing stored."""
    frame = tmp_path / "open.csv"
    frame.write_text(
        "phone,district,age,sex,note\n"
        f'{landline(1)},North,30,M,"Via Roma\n'
        f"{landline(2)},North,31,F,ok\n"
        f"{landline(3)},South,32,M,ok\n"
        f'{landline(4)},South,33,F,12" tv"\n'
        f"{landline(5)},South,34,M,ok\n"
    )
    with pytest.raises(FrameFileError, match="lines 2-5: a quote left open"):
        await import_frame(db_path, survey, frame, [])
    assert not db_path.exists() or 0 == len(stored_phones(db_path))
    closed_early = tmp_path / "early.csv"  # closed by a later record's quoted number
    closed_early.write_text(
        "phone,district,age,sex,note\n"
        f'{landline(1)},North,30,M,"Via Roma\n'
        f"{landline(2)},North,31,F,ok\n"
        f'"{landline(3)}",South,32,M,ok\n'
    )
    with pytest.raises(FrameFileError, match="lines 2-4: a quote left open"):
        await import_frame(db_path, survey, closed_early, [])
    spaced = tmp_path / "spaced.csv"  # the swallowed numbers written with spaces and dashes
    spaced.write_text(
        "phone,district,age,sex,note\n"
        f'{landline(1)},North,30,M,"Via Roma\n'
        "+39 0187 20-00-02,North,31,F,ok\n"
        '0187 20 00 03,South,32,M,the "end\n'
    )
    with pytest.raises(FrameFileError, match="lines 2-4: a quote left open"):
        await import_frame(db_path, survey, spaced, [])


async def test_a_quoted_address_over_two_lines_is_kept(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A note whose second line has a record's commas, but no number, is a note."""
    frame = tmp_path / "address.csv"
    frame.write_text(
        "phone,district,age,sex,note\n"
        f'{landline(1)},North,30,M,"Via Roma 3\nscala B, int. 3, piano 2, citofono, cortile"\n'
    )
    report = await import_frame(db_path, survey, frame, [])
    assert (1, 1) == (report.summary.imported, len(stored_phones(db_path)))


async def test_parallel_import_matches_the_serial_one(
    tmp_path: Path, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking rows on worker processes gives the same cases and rejects, line for line."""
    rows = [
        *GOOD,
        '"0187 1",North,30,M,"quoted, with comma"',
        f'{landline(50)},South,40,F,"two\nlines"',
    ]
    rows += [f"{landline(i)},South,{18 + i % 80},{'MF'[i % 2]},r{i}" for i in range(60, 400)]
    rows += [f"+39 {landline(0)},South,44,F,dup"]
    frame = write_frame(tmp_path / "frame.csv", rows)
    serial = await import_frame(tmp_path / "a.sqlite", survey, frame, [])
    serial_rejects = frame.with_name("frame.rejects.csv").read_text(encoding="utf-8")
    monkeypatch.setattr("dialer.frame_import.PARALLEL_FROM_LINES", 0)
    monkeypatch.setattr("dialer.frame_import.CHUNK_CHARS", 500)
    parallel = await import_frame(tmp_path / "b.sqlite", survey, frame, [])
    assert serial.summary.rejected == parallel.summary.rejected
    assert serial_rejects == frame.with_name("frame.rejects.csv").read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "a.sqlite") as a, sqlite3.connect(tmp_path / "b.sqlite") as b:
        query = "SELECT phone, cell_id, age, attributes, source_line FROM sample_case ORDER BY id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
    assert 351 == parallel.summary.imported


async def test_rows_are_staged_without_locking_the_store_then_copied_in_one_transaction(
    tmp_path: Path, survey: Survey, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While an import writes its rows out, another process (a running campaign) can still
    write to the store: only the copy of the staged rows holds the write lock. The rows
    were written inside the import's transaction, and a 300,000-row frame locked the store
    for 6.8 s."""
    frame = write_frame(tmp_path / "f.csv", GOOD)
    await import_frame(db_path, survey, write_frame(tmp_path / "first.csv", GOOD[:1]), [])
    writes: list[int] = []

    class Probing(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            with sqlite3.connect(db_path, timeout=0, isolation_level=None) as other:
                other.execute("BEGIN IMMEDIATE")  # raises at once if the store is locked
                other.execute("ROLLBACK")
            writes.append(len(self))
            return super().__iter__()

    validate = frame_import._validate

    def probing(*args):  # type: ignore[no-untyped-def]
        reading = validate(*args)
        return replace(reading, rows=Probing(reading.rows))

    monkeypatch.setattr(frame_import, "_validate", probing)
    report = await import_frame(db_path, survey, frame, [])
    assert [9] == writes
    assert 9 == report.summary.imported
    with sqlite3.connect(db_path) as db:
        assert 10 == db.execute("SELECT count(*) FROM sample_case").fetchone()[0]


async def test_an_import_refuses_a_connection_with_a_transaction_open(
    tmp_path: Path, survey: Survey, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import's transaction is all of it, or nothing: on a connection whose caller has a
    transaction open, it would commit or roll back the caller's work with its own. It
    refuses, saying why, and the caller's transaction is left open as it was."""
    readings: list[FrameReading] = []
    validate = frame_import._validate

    def keeping(*args):  # type: ignore[no-untyped-def]
        readings.append(validate(*args))
        return readings[-1]

    monkeypatch.setattr(frame_import, "_validate", keeping)
    await import_frame(db_path, survey, write_frame(tmp_path / "f.csv", GOOD), [])
    async with connect(db_path) as db:
        wave = await find_wave(db, survey)
        assert wave is not None
        await db.execute("BEGIN")
        await db.execute(
            "INSERT INTO dnc_number (phone, source, added_at) VALUES (?, 'caller', 'now')",
            (landline(99),),
        )
        with pytest.raises(StoreError, match="no transaction open"):
            await write_import(db, wave, readings[0], "again.csv", "0" * 64, set())
        assert db.in_transaction
        async with db.execute("SELECT count(*) FROM dnc_number WHERE source = 'caller'") as cur:
            assert (1,) == tuple(await cur.fetchone() or ())
        await db.execute("ROLLBACK")
    with sqlite3.connect(db_path) as plain:
        assert (10, 1) == plain.execute(
            "SELECT (SELECT count(*) FROM sample_case), (SELECT count(*) FROM frame_import)"
        ).fetchone()
