"""The released cases read in a worker thread: the same cases as the campaign's own read, on
the last committed state, and never taken once out of date."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.campaign.due_reader import DueReader
from dialer.campaign.selection import READ_EVERY, DueRead
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import CallingWindow
from dialer.store.attempts import dialable_cases, open_attempt, read_dialable_cases
from dialer.store.db import connect, transaction
from sampling.survey import Survey
from tests.test_attempts import _cases

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY, WINDOW = RetryPolicy(day_parts=()), CallingWindow.always_open()  # retries due at T0


async def _store(tmp_path: Path, survey: Survey, db_path: Path) -> tuple[int, list[int]]:
    """Six released cases: fresh; one no-answer; on a call now; listed; two attempts;
    withdrawn. Returns the wave and the case ids."""
    ids = await _cases(tmp_path, survey, db_path, 6)
    with sqlite3.connect(db_path) as db:
        ended = [(ids[1], "a1", 0), (ids[4], "a2", 1), (ids[4], "a3", 0)]
        for case_id, call_id, hours_ago in ended:
            started = (T0 - timedelta(hours=3 + hours_ago)).isoformat()
            db.execute(
                "INSERT INTO attempt (case_id, call_id, started_at, ended_at, outcome)"
                " VALUES (?, ?, ?, ?, 'no_answer')",
                (case_id, call_id, started, started),
            )
        db.execute(
            "INSERT INTO attempt (case_id, call_id, started_at) VALUES (?, 'live', ?)",
            (ids[2], T0.isoformat()),
        )
        db.execute(
            "INSERT INTO dnc_number SELECT phone, 'list', '2026-11-23' FROM sample_case"
            " WHERE id = ?",
            (ids[3],),
        )
        db.execute("UPDATE sample_case SET state = 'withdrawn' WHERE id = ?", (ids[5],))
        wave_id = int(db.execute("SELECT wave_id FROM sample_case LIMIT 1").fetchone()[0])
    return wave_id, ids


async def test_a_read_in_a_worker_thread_finds_the_campaigns_own_cases(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """The thread's read-only connection gives the same cases, histories oldest first, as
    the campaign's: none on a call, listed or withdrawn."""
    wave_id, ids = await _store(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        own = await dialable_cases(db, wave_id)
    threaded = await asyncio.to_thread(read_dialable_cases, db_path, wave_id)
    assert own == threaded
    assert [ids[0], ids[1], ids[4]] == [c.case_id for c in threaded]
    assert [0, 1, 2] == [len(c.history) for c in threaded]
    assert sorted(a.started for a in threaded[2].history) == [
        a.started for a in threaded[2].history
    ]


async def test_a_read_under_a_campaigns_open_write_sees_the_last_commit_and_waits_for_none(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """The campaign's consumer writes as the thread reads: the read is not held up by its
    open transaction, and sees none of it."""
    wave_id, ids = await _store(tmp_path, survey, db_path)
    async with connect(db_path) as db, transaction(db):
        await open_attempt(db, ids[0], "uncommitted", T0)
        read = await asyncio.to_thread(read_dialable_cases, db_path, wave_id)
    assert ids[0] in [c.case_id for c in read]


async def _landed(reader: DueReader, now: datetime = T0) -> DueRead | None:
    """The read under way once it has landed; None when ``landed`` dropped it as old."""
    for _ in range(500):
        if (read := reader.landed(now)) is not None or not reader.reading:
            return read
        await asyncio.sleep(0.01)
    raise AssertionError("the read never landed")


async def test_cases_dialled_while_a_read_is_under_way_are_taken_in_it(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Its snapshot may predate their dial or withdrawal (their history as read says them
    due): they are not offered again. A second start while it runs keeps them."""
    wave_id, ids = await _store(tmp_path, survey, db_path)
    reader = DueReader(db_path, wave_id, POLICY, WINDOW, lambda: T0)
    assert reader.landed(T0) is None
    reader.changed(ids[4])  # none under way: nothing to change
    reader.start(T0, [0.0] * 40, set())
    reader.changed(ids[0])
    reader.start(T0, [0.0] * 40, set())  # one under way: no second read
    reader.changed(ids[1])
    read = await _landed(reader)
    assert read is not None
    assert not reader.reading
    assert {ids[0], ids[1]} == read.taken
    assert [ids[4]] == [c.case_id for c in read.remaining(set())]


async def test_a_dropped_read_is_never_taken(tmp_path: Path, survey: Survey, db_path: Path) -> None:
    """A read begun before a release cannot know its numbers: dropped, it is never taken,
    and the next read is a new one."""
    wave_id, ids = await _store(tmp_path, survey, db_path)
    reader = DueReader(db_path, wave_id, POLICY, WINDOW, lambda: T0)
    reader.start(T0, [0.0] * 40, {ids[1]})
    reader.drop()
    assert not reader.reading
    reader.start(T0, [0.0] * 40, set())
    read = await _landed(reader)
    assert read is not None
    assert frozenset() == read.busy
    due = [c.case_id for c in read.due]
    assert ({ids[1], ids[4]}, ids[0]) == (set(due[:2]), due[2])  # retries first


async def test_a_reads_age_runs_from_its_landing_and_one_landed_long_ago_is_dropped(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A read slower than ``READ_EVERY`` (a huge release, a slow disk) is taken and serves
    from its landing; one taken ``READ_EVERY`` after it landed (ticks stop looking during
    a pause, overnight) would offer what was due then: dropped, as is one begun after the
    tick's time (the clock stepped back)."""
    wave_id, _ = await _store(tmp_path, survey, db_path)
    landing = T0 + READ_EVERY + timedelta(seconds=1)
    reader = DueReader(db_path, wave_id, POLICY, WINDOW, lambda: landing)
    reader.start(T0, [0.0] * 40, set())
    read = await _landed(reader, landing + timedelta(seconds=0.2))
    assert read is not None
    assert landing == read.at
    for late in (landing + READ_EVERY, T0 - timedelta(seconds=1)):
        reader.start(T0, [0.0] * 40, set())
        assert await _landed(reader, late) is None
        assert not reader.reading


async def test_a_reads_error_reaches_the_tick_that_takes_it(tmp_path: Path) -> None:
    reader = DueReader(tmp_path / "missing.sqlite", 1, POLICY, WINDOW, lambda: T0)
    reader.start(T0, [], set())
    with pytest.raises(sqlite3.OperationalError):
        await _landed(reader)
    assert not reader.reading
