"""The store: WAL, foreign keys, versioned migrations applied once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dialer.store.db import StoreError, connect, schema_version
from dialer.store.schema import SCHEMA_VERSION


async def test_new_store_is_migrated_with_wal_and_foreign_keys(db_path: Path) -> None:
    """A new file gets the current schema, WAL journaling and enforced foreign keys."""
    async with connect(db_path) as db:
        assert SCHEMA_VERSION == await schema_version(db)
        async with db.execute("PRAGMA journal_mode") as cursor:
            assert ("wal",) == tuple(await cursor.fetchone() or ())
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await db.execute(
                "INSERT INTO cell (wave_id, position, district, age_band, sex, population, target)"
                " VALUES (999, 0, 'A', '18-34', 'M', 1, 1)"
            )


async def test_reopening_does_not_reapply_migrations(db_path: Path) -> None:
    """Opening an existing store keeps its data and version."""
    async with connect(db_path) as db:
        await db.execute("INSERT INTO survey (name) VALUES ('kept')")
    async with connect(db_path) as db, db.execute("SELECT name FROM survey") as cursor:
        assert [("kept",)] == [tuple(r) for r in await cursor.fetchall()]


async def test_a_store_from_a_newer_dialer_is_refused(db_path: Path) -> None:
    """A file at a schema newer than the code is refused rather than misread."""
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this dialer"):
        async with connect(db_path):
            pass


@pytest.mark.parametrize("kind", ["not a database", "under a file"])
async def test_a_store_that_cannot_be_opened_is_an_error_naming_it(
    tmp_path: Path, kind: str
) -> None:
    """A file that is not a database, or a path that cannot be made (a systemd unit's
    read-only directory fails alike): a StoreError naming the file, not a traceback."""
    if kind == "not a database":
        path = tmp_path / "frame.csv"
        path.write_bytes(b"phone,district\n" * 400)
    else:
        (tmp_path / "plain").write_text("x", encoding="utf-8")
        path = tmp_path / "plain" / "campaign.sqlite"
    with pytest.raises(StoreError, match="cannot open the store") as caught:
        async with connect(path):
            pass
    assert str(path) in str(caught.value)
