"""Opening the store: WAL, foreign keys, migrations to the current schema."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from dialer.store.schema import MIGRATIONS, SCHEMA_VERSION


class StoreError(Exception):
    """The store cannot be used as asked; the message says why."""


async def open_store(path: Path) -> aiosqlite.Connection:
    """Connect, set the pragmas every connection needs, and migrate to the current schema;
    a store that cannot be opened (a read-only directory, not a database) is a StoreError
    naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"{path}: cannot open the store: {exc}") from None
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA busy_timeout = 5000")
        await migrate(db)
    except (OSError, sqlite3.Error) as exc:
        await db.close()
        raise StoreError(f"{path}: cannot open the store: {exc}") from None
    except BaseException:
        await db.close()
        raise
    return db


@asynccontextmanager
async def connect(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """``async with connect(path) as db``: an open, migrated store, closed on exit."""
    db = await open_store(path)
    try:
        yield db
    finally:
        await db.close()


async def schema_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection) -> int:
    """Apply the migrations the file has not seen, each atomically; return the new version."""
    current = await schema_version(db)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the store is at schema {current}, newer than this dialer's {SCHEMA_VERSION}: "
            "upgrade the dialer"
        )
    for number, script in enumerate(MIGRATIONS[current:], current + 1):
        await db.executescript(
            f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
        )
    return SCHEMA_VERSION


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """One write transaction (taken at once, so concurrent writers queue rather than fail).
    Inside another, it is part of that one: the outermost commits, or undoes it all."""
    if db.in_transaction:  # every write runs on the campaign's one consumer: it is ours
        yield db
        return
    try:
        await db.execute("BEGIN IMMEDIATE")
        yield db
        await db.execute("COMMIT")
    except BaseException:
        # Also when cancelled while BEGIN or COMMIT waited for the lock: the ROLLBACK runs
        # after them on the connection's thread, so no transaction is left open to join.
        try:
            await db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            if db.in_transaction:  # not "none was open": a transaction stays open
                raise
        raise


def utc_now() -> str:
    """A timestamp for the store (ISO 8601, UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")
