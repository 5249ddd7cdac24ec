"""Call attempts in the store: opened before the originate, closed with the outcome."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from dialer.call.resync import MACHINE_REASON, read_abandon
from dialer.call.state import Call
from dialer.campaign.selection import CaseView
from dialer.disposition import Disposition, Outcome, aapor_code
from dialer.schedule.retry import AttemptRecord
from dialer.store.db import StoreError, transaction
from dialer.store.frame import NOT_LISTED


async def open_attempt(db: aiosqlite.Connection, case_id: int, call_id: str, now: datetime) -> int:
    """Record that ``case_id`` is being dialled, and return the attempt's id; refused if the
    case already has a live attempt. ``call_id`` is also the channel id set on the originate."""
    try:
        async with transaction(db):
            cursor = await db.execute(  # still released, and not on a do-not-call list: a
                # list imported meanwhile (by another process) may have withdrawn it
                "INSERT INTO attempt (case_id, call_id, started_at) SELECT ?, ?, ?"
                " WHERE EXISTS (SELECT 1 FROM sample_case c WHERE c.id = ?"
                f" AND c.state = 'released' AND {NOT_LISTED})",
                (case_id, call_id, now.isoformat(), case_id),
            )
    except sqlite3.IntegrityError as exc:
        if "attempt.case_id" in str(exc) or "attempt_one_live" in str(exc):
            raise StoreError(f"case {case_id}: already being dialled") from None
        raise StoreError(f"case {case_id}: {exc}") from None
    if cursor.rowcount != 1 or cursor.lastrowid is None:
        raise StoreError(f"case {case_id}: no longer to be dialled (withdrawn, finished or listed)")
    return cursor.lastrowid


async def close_attempt(db: aiosqlite.Connection, call: Call, machine_people: float = 0.0) -> None:
    """Store an ended call's timings, seat, channel and outcome (with its AAPOR code when the
    outcome alone decides it; a connected call gets its code from the operator's disposition).
    A machine verdict keeps ``machine_people``, the share of a person the campaign counts it
    as (its estimate of detection's false positives)."""
    if call.outcome is None or call.ended is None:
        raise StoreError(f"call {call.call_id}: has not ended")
    code = None if call.outcome is Outcome.CONNECTED else aapor_code(call.outcome)
    people = machine_people if call.outcome is Outcome.MACHINE else None
    async with transaction(db):
        cursor = await db.execute(
            "UPDATE attempt SET answered_at = ?, connected_at = ?, ended_at = ?, outcome = ?,"
            " aapor_code = coalesce(aapor_code, ?), seat = ?, channel = ?, machine_people = ?"
            " WHERE call_id = ? AND ended_at IS NULL",
            (
                _iso(call.answered),
                _iso(call.connected),
                call.ended.isoformat(),
                call.outcome.value,
                code,
                call.seat,
                call.channel,
                people,
                call.call_id,
            ),
        )
        if cursor.rowcount != 1:
            raise StoreError(f"call {call.call_id}: no open attempt to close")


async def set_disposition(
    db: aiosqlite.Connection,
    call_id: str,
    disposition: Disposition,
    callback_at: datetime | None = None,
    note: str | None = None,
) -> None:
    """The operator's disposition of a connected call, its AAPOR code, and a note."""
    async with transaction(db):
        cursor = await db.execute(
            "UPDATE attempt SET disposition = ?, aapor_code = ?, callback_at = ?, note = ?"
            " WHERE call_id = ? AND (outcome IS NULL OR outcome = 'connected')",
            (
                disposition.value,
                aapor_code(Outcome.CONNECTED, disposition),
                _iso(callback_at),
                note,
                call_id,
            ),
        )
        if cursor.rowcount != 1:
            raise StoreError(f"call {call_id}: no connected attempt to take a disposition")


async def history(db: aiosqlite.Connection, case_id: int) -> list[AttemptRecord]:
    """The case's ended attempts, oldest first, as the retry policy reads them."""
    async with db.execute(
        "SELECT started_at, outcome, disposition, callback_at, note, ended_at FROM attempt"
        " WHERE case_id = ? AND ended_at IS NOT NULL ORDER BY started_at, id",
        (case_id,),
    ) as cursor:
        return [_record(*row) async for row in cursor]


async def live_call_ids(db: aiosqlite.Connection) -> list[str]:
    """Attempts with no end: after a restart, these are reconciled with Asterisk's channels."""
    async with db.execute("SELECT call_id FROM attempt WHERE ended_at IS NULL") as cursor:
        return [str(row[0]) async for row in cursor]


async def closed_call_ids(db: aiosqlite.Connection, call_ids: Iterable[str]) -> list[str]:
    """Those of ``call_ids`` this store has a closed attempt of (a campaign's own calls
    that ended), in order."""
    wanted = list(call_ids)
    known: set[str] = set()
    for start in range(0, len(wanted), ID_BATCH):
        batch = wanted[start : start + ID_BATCH]
        marks = ",".join("?" * len(batch))
        sql = f"SELECT call_id FROM attempt WHERE ended_at IS NOT NULL AND call_id IN ({marks})"
        async with db.execute(sql, batch) as cursor:
            known.update(str(row[0]) for row in await cursor.fetchall())
    return [i for i in wanted if i in known]


ID_BATCH = 500
"""Call ids a query asks about at once (SQLite's limit on parameters is 32,766)."""


async def live_answers_since(
    db: aiosqlite.Connection, wave_id: int, since: datetime, estimate: float = 0.0
) -> list[tuple[datetime, str, float]]:
    """The survey's live answers and machine verdicts from ``since`` on, in every wave (a new
    wave's window still holds the last one's abandons), oldest first, as (when, outcome,
    share of a person counted for a machine): a call put through at its connection, an
    abandoned one or a machine at its end (as the pacer counted them). A machine an operator
    reached is no live answer; a verdict stored before shares were kept counts ``estimate``."""
    async with db.execute(
        "SELECT a.outcome, a.connected_at, a.ended_at, a.machine_people FROM attempt a"
        " JOIN sample_case c ON c.id = a.case_id JOIN wave w ON w.id = c.wave_id"
        " WHERE w.survey_id = (SELECT survey_id FROM wave WHERE id = ?)"
        " AND a.outcome IN ('connected', 'abandoned', 'machine')"
        " AND coalesce(a.disposition, '') != 'answering_machine'"
        " AND a.started_at >= ?",  # ISO text in UTC: a day's margin, the exact cut below
        (wave_id, (since - timedelta(days=1)).isoformat()),
    ) as cursor:
        rows = list(await cursor.fetchall())
    answers = []
    for outcome, connected, ended, people in rows:
        stamp = connected if outcome == "connected" else ended
        if stamp is not None and (at := datetime.fromisoformat(stamp)) >= since:
            answers.append((at, outcome, estimate if people is None else people))
    return sorted(answers)


def _record(
    started: str,
    outcome: str,
    disposition: str | None,
    callback: str | None,
    note: str | None,
    ended: str | None,
) -> AttemptRecord:
    return AttemptRecord(
        datetime.fromisoformat(started),
        Outcome(outcome),
        Disposition(disposition) if disposition else None,
        datetime.fromisoformat(callback) if callback else None,
        note,
        datetime.fromisoformat(ended) if ended else None,
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


_DIALABLE_SQL = (
    "SELECT c.id, c.phone, k.position, c.attributes FROM sample_case c"
    " JOIN cell k ON k.id = c.cell_id"
    " WHERE c.wave_id = ? AND c.state = 'released'"
    " AND NOT EXISTS (SELECT 1 FROM attempt a WHERE a.case_id = c.id AND a.ended_at IS NULL)"
    # a number put on a do-not-call list after its release is never dialled
    f" AND {NOT_LISTED}"
    " ORDER BY c.id"
)
_HISTORIES_SQL = (
    "SELECT a.case_id, a.started_at, a.outcome, a.disposition, a.callback_at, a.note,"
    " a.ended_at"
    " FROM attempt a JOIN sample_case c ON c.id = a.case_id"
    " WHERE c.wave_id = ? AND c.state = 'released' AND a.ended_at IS NOT NULL"
    " ORDER BY a.started_at, a.id"
)


async def dialable_cases(db: aiosqlite.Connection, wave_id: int) -> list[CaseView]:
    """Released cases with no live attempt, with their attempt history."""
    async with db.execute(_DIALABLE_SQL, (wave_id,)) as cursor:
        cases = await cursor.fetchall()
    async with db.execute(_HISTORIES_SQL, (wave_id,)) as cursor:
        attempts = await cursor.fetchall()
    return _case_views(cases, attempts)


def read_dialable_cases(store: Path, wave_id: int) -> list[CaseView]:
    """``dialable_cases`` on a connection of its own, read-only, for a worker thread: a
    large release's read (30,000 cases and their attempts: 0.4-0.6 s, then 0.2 s to work
    out which are due) then no longer holds up the campaign's events. One snapshot (a
    transaction) serves both queries, as the campaign's writes go on."""
    uri = f"{store.resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("BEGIN")
        cases = db.execute(_DIALABLE_SQL, (wave_id,)).fetchall()
        attempts = db.execute(_HISTORIES_SQL, (wave_id,)).fetchall()
        db.execute("COMMIT")
    return _case_views(cases, attempts)


def _case_views(
    cases: Iterable[Sequence[Any]], attempts: Iterable[Sequence[Any]]
) -> list[CaseView]:
    """Case rows (id, phone, cell position, attributes) with their attempts' rows (case
    id, then ``_record``'s fields, oldest first) as ``CaseView``s."""
    cases = list(cases)
    histories: dict[int, list[AttemptRecord]] = {int(r[0]): [] for r in cases}
    for case_id, *row in attempts:
        if case_id in histories:
            histories[case_id].append(_record(*row))
    return [
        CaseView(
            int(r[0]),
            str(r[1]),
            int(r[2]),
            json.loads(r[3]) if r[3] else {},
            tuple(histories[int(r[0])]),
        )
        for r in cases
    ]


INTERRUPTED = "2.36"
"""AAPOR's "miscellaneous" other non-interview (eligible): an interview cut off by the
dialer's own end (a crash), never given a disposition."""


class Recovered(NamedTuple):
    """What ``recover_after_restart`` found."""

    interrupted: int
    """Interviews whose quota reservation was given back."""
    abandoned: int
    """Calls the dialplan abandoned while no dialer could put them through."""
    machines: int = 0
    """Calls machine detection judged machines meanwhile."""


async def recover_after_restart(
    db: aiosqlite.Connection,
    now: datetime,
    abandoned: Mapping[str, str] | None = None,
    machine_people: float = 0.0,
) -> Recovered:
    """After the dialer itself stopped without closing its calls (a crash, ``kill -9``).

    Attempts still open belonged to the dead process. Those the dialplan recorded abandoned
    (``abandoned``: its records by call id, ``dialer.call.resync``; with no dialer every
    answered callee hears the message) are closed as abandoned at the record's time: they
    count against the cap, and the number rests 72 hours. Those it recorded as machines
    are closed as machines, counted as ``machine_people`` of a person (the estimate now), or
    as the last verdict stored was if more (the dead run's estimate: a restart with
    detection off does not count them as nobody). Those
    with a disposition stored were put through (their close alone failed) and stay
    connected, with their code. The others are closed as a technical failure (congestion,
    AAPOR 3.16; the number is retried).
    """
    async with db.execute(
        "SELECT call_id, started_at FROM attempt WHERE ended_at IS NULL"
    ) as cursor:
        open_calls = list(await cursor.fetchall())
    records = abandoned or {}
    async with db.execute(
        "SELECT machine_people FROM attempt WHERE machine_people IS NOT NULL"
        " ORDER BY ended_at DESC LIMIT 1"
    ) as cursor:
        last = await cursor.fetchone()
    machine_people = max(machine_people, last[0] if last else 0.0)
    dropped = [
        (call_id, *read_abandon(records[call_id], datetime.fromisoformat(started), now))
        for call_id, started in open_calls
        if call_id in records
    ]
    async with transaction(db):
        for call_id, at, reason in dropped:
            if reason == MACHINE_REASON:
                await db.execute(
                    "UPDATE attempt SET ended_at = ?, outcome = 'machine', aapor_code = ?,"
                    " machine_people = ? WHERE call_id = ? AND ended_at IS NULL",
                    (at.isoformat(), aapor_code(Outcome.MACHINE), machine_people, call_id),
                )
                continue
            await db.execute(
                "UPDATE attempt SET answered_at = coalesce(answered_at, ?), ended_at = ?,"
                " outcome = 'abandoned', aapor_code = ? WHERE call_id = ? AND ended_at IS NULL",
                (at.isoformat(), at.isoformat(), aapor_code(Outcome.ABANDONED), call_id),
            )
        await db.execute(  # one whose disposition was stored was put through: its close
            # alone failed (the store locked), and it keeps its outcome and code
            "UPDATE attempt SET ended_at = ?, outcome = CASE WHEN disposition IS NULL"
            " THEN 'congestion' ELSE 'connected' END, aapor_code = coalesce(aapor_code, '3.16'),"
            # its answer counts in the regulatory window (at its start: its connection
            # was never stored)
            " connected_at = CASE WHEN disposition IS NULL THEN connected_at"
            " ELSE coalesce(connected_at, started_at) END"
            " WHERE ended_at IS NULL",
            (now.isoformat(),),
        )
        # Interviews whose disposition the dead process awaited will never get one: coded
        # as a contact that ended otherwise (2.36), they no longer hold their case back
        # from a closing cell's withdrawal (waves.WITHDRAWABLE); the case is called again.
        await db.execute(
            f"UPDATE attempt SET aapor_code = '{INTERRUPTED}'"
            " WHERE outcome = 'connected' AND disposition IS NULL AND aapor_code IS NULL"
        )
        cursor = await db.execute(
            "UPDATE sample_case SET state = 'released', reserved_cell_id = NULL"
            " WHERE state = 'in_progress'"
        )
    machines = sum(reason == MACHINE_REASON for _, _, reason in dropped)
    return Recovered(cursor.rowcount, len(dropped) - machines, machines)
