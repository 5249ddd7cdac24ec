"""Frame cases and do-not-call numbers in the store."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import aiosqlite

from dialer.store.db import StoreError, transaction, utc_now
from dialer.store.waves import WITHDRAWABLE, WaveRef
from sampling.frame_file import FrameReading


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did: rows read, imported, rejected by reason, already in the frame."""

    import_id: int
    read: int
    imported: int
    already_in_frame: int
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


async def existing_phones(db: aiosqlite.Connection, wave: WaveRef) -> dict[str, int]:
    """Numbers already in this wave's frame, with the cell the frame put each in (its
    position in the wave's cells)."""
    position = {cell_id: i for i, cell_id in enumerate(wave.cell_ids)}
    async with db.execute(
        "SELECT phone, cell_id FROM sample_case WHERE wave_id = ?", (wave.wave_id,)
    ) as cursor:
        return {row[0]: position[row[1]] async for row in cursor}


NOT_LISTED = "NOT EXISTS (SELECT 1 FROM dnc_number d WHERE d.phone = c.phone)"
"""A case (alias ``c``) whose number is on no do-not-call list: drawn, dialled."""


async def dnc_numbers(db: aiosqlite.Connection) -> set[str]:
    async with db.execute("SELECT phone FROM dnc_number") as cursor:
        return {row[0] async for row in cursor}


async def write_import(
    db: aiosqlite.Connection,
    wave: WaveRef,
    reading: FrameReading,
    source: str,
    sha256: str,
    new_dnc: set[str],
    now: str | None = None,
) -> ImportSummary:
    """Store a validated frame file in one transaction: all of it, or nothing.

    The rows are first written to a temporary table, which takes no lock on the store, and
    copied in by phone number: the write lock a running campaign waits behind is held for
    the copy only (300,000 rows: 1.8 s against 6.8 s inserted one by one in file order,
    whose numbers land all over the phone indexes)."""
    if db.in_transaction:  # its own transaction is all of the import, or nothing
        raise StoreError("a frame import needs a connection with no transaction open")
    stamp = now or utc_now()
    rejected = dict(sorted(Counter(str(r.reason) for r in reading.rejects).items()))
    cells = wave.cell_ids
    await db.execute(f"DROP TABLE IF EXISTS {STAGED}")  # none left over to copy in again
    await db.execute(f"CREATE TEMP TABLE {STAGED} ({STAGED_COLUMNS})")
    try:
        await db.execute("BEGIN")  # the temporary database's only
        await db.executemany(
            f"INSERT INTO {STAGED} VALUES (?, ?, ?, ?, ?)",
            (
                (
                    row.phone,
                    cells[row.cell],
                    row.age,
                    json.dumps(row.attributes, ensure_ascii=False) if row.attributes else None,
                    row.line,
                )
                for row in reading.rows
            ),
        )
        await db.execute("COMMIT")
        record = (
            wave.wave_id, source, sha256, stamp, reading.read, len(reading.rows),
            len(reading.rejects), reading.already_in_frame, json.dumps(rejected),
        )  # fmt: skip
        listed = [(phone, source, stamp) for phone in sorted(new_dnc)]
        import_id = await _copy_in(db, wave.wave_id, listed, record)
    finally:
        try:
            if db.in_transaction:
                await db.execute("ROLLBACK")
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {STAGED}")
    return ImportSummary(
        import_id, reading.read, len(reading.rows), reading.already_in_frame, rejected
    )


STAGED = "temp.frame_rows"
STAGED_COLUMNS = "phone TEXT, cell_id INTEGER, age INTEGER, attributes TEXT, source_line INTEGER"


async def _copy_in(
    db: aiosqlite.Connection,
    wave_id: int,
    listed: list[tuple[str, str, str]],
    record: tuple[object, ...],
) -> int:
    """The import's one write transaction: its do-not-call numbers (``listed``: phone,
    source, time), the withdrawals they call for, its ``frame_import`` row (``record``)
    and its staged rows. Returns the import's id."""
    async with transaction(db):
        await db.executemany(
            "INSERT OR IGNORE INTO dnc_number (phone, source, added_at) VALUES (?, ?, ?)", listed
        )
        # Released numbers now on the list are never dialled: withdrawn, they stop counting
        # as out, and their cells get more (they blocked them for good).
        await db.execute(
            f"UPDATE sample_case SET state = 'withdrawn' WHERE {WITHDRAWABLE}"
            " AND phone IN (SELECT phone FROM dnc_number)"
        )
        cursor = await db.execute(
            "INSERT INTO frame_import (wave_id, source, sha256, imported_at, rows_read,"
            " rows_imported, rows_rejected, already_in_frame, rejects_by_reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            record,
        )
        import_id = int(cursor.lastrowid or 0)
        await db.execute(
            "INSERT INTO sample_case (wave_id, phone, cell_id, age, attributes, import_id,"
            f" source_line) SELECT ?, phone, cell_id, age, attributes, ?, source_line"
            f" FROM {STAGED} ORDER BY phone",
            (wave_id, import_id),
        )
    return import_id
