"""Attempts in the store: one live attempt per case, outcomes with AAPOR codes, history."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from dialer.call.state import (
    Abandoned,
    Answered,
    HungUp,
    MachineDetected,
    OriginateEnded,
    SeatJoined,
    new_call,
    transition,
)
from dialer.disposition import Disposition, Outcome
from dialer.frame_import import import_frame
from dialer.store.attempts import (
    close_attempt,
    closed_call_ids,
    history,
    live_answers_since,
    live_call_ids,
    open_attempt,
    recover_after_restart,
    set_disposition,
)
from dialer.store.cases import withdraw_if_barred
from dialer.store.db import StoreError, connect, transaction
from sampling.survey import Survey
from tests.conftest import landline, write_frame

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _case(tmp_path: Path, survey: Survey, db_path: Path) -> int:
    return (await _cases(tmp_path, survey, db_path, 1))[0]


async def _cases(tmp_path: Path, survey: Survey, db_path: Path, n: int) -> list[int]:
    rows = [f"{landline(i)},North,30,M," for i in range(1, n + 1)]
    await import_frame(db_path, survey, write_frame(tmp_path / "f.csv", rows), [])
    with sqlite3.connect(db_path) as db:
        release = db.execute(  # as a release leaves it
            "INSERT INTO release (wave_id, seed, created_at, size)"
            " SELECT wave_id, '1', '2026-11-23T09:00:00+00:00', count(*) FROM sample_case"
        ).lastrowid
        db.execute("UPDATE sample_case SET state = 'released', release_id = ?", (release,))
        return [int(row[0]) for row in db.execute("SELECT id FROM sample_case ORDER BY id")]


async def test_a_case_cannot_be_dialled_twice_at_once(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A second live attempt for the same case is refused by the store itself."""
    case_id = await _case(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        await open_attempt(db, case_id, "call-1", T0)
        with pytest.raises(StoreError, match=f"case {case_id}: already being dialled"):
            await open_attempt(db, case_id, "call-2", T0)
        assert ["call-1"] == await live_call_ids(db)


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE sample_case SET state = 'withdrawn'",
        "INSERT INTO dnc_number SELECT phone, 'later list', '2026-11-23' FROM sample_case",
    ],
)
async def test_a_case_withdrawn_or_listed_since_it_was_read_is_not_dialled(
    tmp_path: Path, survey: Survey, db_path: Path, change: str
) -> None:
    """Between reading the dialable cases and dialling one, another process withdrew it or
    put its number on a do-not-call list: the attempt is refused, naming the case."""
    case_id = await _case(tmp_path, survey, db_path)
    with sqlite3.connect(db_path) as db:
        db.execute(change)
    async with connect(db_path) as db:
        with pytest.raises(StoreError, match=f"case {case_id}: no longer to be dialled"):
            await open_attempt(db, case_id, "call-1", T0)
        assert [] == await live_call_ids(db)


async def test_a_number_listed_while_it_was_dialled_is_withdrawn_when_the_call_ends(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A do-not-call list imported mid-call leaves the live case alone; once its call ends,
    the case is withdrawn (it stayed released for ever, counted as sample still out)."""
    case_id = await _case(tmp_path, survey, db_path)
    call = new_call("call-1", case_id, T0)
    async with connect(db_path) as db:
        await open_attempt(db, case_id, "call-1", T0)
    (tmp_path / "dnc.txt").write_text(f"+39 {landline(1)}\n", encoding="utf-8")
    await import_frame(
        db_path, survey, write_frame(tmp_path / "none.csv", []), [tmp_path / "dnc.txt"]
    )
    with sqlite3.connect(db_path) as db:
        assert ("released",) == db.execute("SELECT state FROM sample_case").fetchone()
    call, _ = transition(call, HungUp(T0 + timedelta(seconds=30), 16))
    call, _ = transition(call, OriginateEnded(T0 + timedelta(seconds=30), 3))
    async with connect(db_path) as db:
        await close_attempt(db, call)
        assert await withdraw_if_barred(db, case_id)
        assert not await withdraw_if_barred(db, case_id)  # once
    with sqlite3.connect(db_path) as db:
        assert ("withdrawn",) == db.execute("SELECT state FROM sample_case").fetchone()


async def test_closed_attempts_keep_outcome_code_and_history(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """An abandoned call, then a connected one with a callback: both in the history, coded."""
    case_id = await _case(tmp_path, survey, db_path)
    first, _ = transition(new_call("call-1", case_id, T0), Answered(T0, "ch-1"))
    first, _ = transition(first, Abandoned(T0 + timedelta(seconds=2)))
    later = T0 + timedelta(days=3)
    second = new_call("call-2", case_id, later)
    for event in (Answered(later, "ch-2"), SeatJoined(later, "7001"), HungUp(later, 16)):
        second, _ = transition(second, event)
    callback = later + timedelta(days=1)
    async with connect(db_path) as db:
        await open_attempt(db, case_id, "call-1", T0)
        await close_attempt(db, first)
        await open_attempt(db, case_id, "call-2", later)
        await close_attempt(db, second)
        await set_disposition(db, "call-2", Disposition.CALLBACK, callback)
        records = await history(db, case_id)
        with pytest.raises(StoreError, match="call call-1: no connected attempt"):
            await set_disposition(db, "call-1", Disposition.COMPLETE)
    assert [Outcome.ABANDONED, Outcome.CONNECTED] == [r.outcome for r in records]
    assert callback == records[1].callback_at
    assert T0 + timedelta(seconds=2) == records[0].ended  # the abandon's quiet runs from it
    with sqlite3.connect(db_path) as db:
        codes = [r[0] for r in db.execute("SELECT aapor_code FROM attempt ORDER BY id")]
    assert ["3.21", "2.21"] == codes


async def test_writes_inside_a_transaction_are_stored_with_it_or_not_at_all(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """The runner stores a disposition and the case's result in one transaction: when a
    later write fails, the disposition already written is undone with it."""
    case_id = await _case(tmp_path, survey, db_path)
    call = new_call("call-1", case_id, T0)
    for event in (Answered(T0, "ch-1"), SeatJoined(T0, "7001"), HungUp(T0, 16)):
        call, _ = transition(call, event)
    async with connect(db_path) as db:
        await open_attempt(db, case_id, "call-1", T0)
        await close_attempt(db, call)
        with pytest.raises(RuntimeError, match="the case's result failed"):
            await _dispose_then_fail(db)
        assert not db.in_transaction
        async with transaction(db):
            await set_disposition(db, "call-1", Disposition.REFUSAL)
    with sqlite3.connect(db_path) as db:
        assert [("refusal",)] == db.execute("SELECT disposition FROM attempt").fetchall()


async def _dispose_then_fail(db: aiosqlite.Connection) -> None:
    async with transaction(db):
        await set_disposition(db, "call-1", Disposition.COMPLETE)
        raise RuntimeError("the case's result failed")


async def test_the_window_recalled_at_a_start_holds_the_last_waves_abandons(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A new wave starting within the regulatory window of the last one's calls: its pacer
    starts from the abandons of both (it started from none)."""
    first = await _case(tmp_path, survey, db_path)
    second = replace(survey, wave=survey.wave + 1)
    await import_frame(
        db_path, second, write_frame(tmp_path / "g.csv", [f"{landline(2)},North,30,M,"]), []
    )
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE sample_case SET state = 'released', release_id = 1")
        later, wave = db.execute(
            "SELECT c.id, c.wave_id FROM sample_case c WHERE c.id != ?", (first,)
        ).fetchone()
    async with connect(db_path) as db:
        for case_id, call_id, start in ((first, "a", T0), (later, "b", T0 + timedelta(hours=2))):
            call = new_call(call_id, case_id, start)
            await open_attempt(db, case_id, call_id, start)
            call, _ = transition(call, Answered(start + timedelta(seconds=5), "ch"))
            call, _ = transition(call, Abandoned(start + timedelta(seconds=7)))
            await close_attempt(db, call)
        machine_at = T0 + timedelta(hours=3)
        call = new_call("c", later, machine_at)
        await open_attempt(db, later, "c", machine_at)
        call, _ = transition(call, MachineDetected(machine_at + timedelta(seconds=9)))
        await close_attempt(db, call, machine_people=0.05)  # the estimate then
        recalled = await live_answers_since(db, wave, T0 - timedelta(hours=1))
    assert [
        (T0 + timedelta(seconds=7), "abandoned", 0.0),
        (T0 + timedelta(hours=2, seconds=7), "abandoned", 0.0),
        (machine_at + timedelta(seconds=9), "machine", 0.05),  # Ofcom: may have been a person
    ] == recalled


async def test_a_restart_codes_the_callees_the_dialplan_abandoned_meanwhile(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """The dialer died with three calls out; the dialplan recorded one callee abandoned at
    09:00:20 (nobody could put them through), one a machine detection judged at 09:00:15, and
    holds a record of a call long closed. The first is closed abandoned at its record's time,
    counting against the cap (3.21, and the number rests 72 hours); the second a machine
    (3.14), counted as the estimate's share of a person; the last as before, a technical
    failure (3.16)."""
    dropped, ringing, machine = await _cases(tmp_path, survey, db_path, 3)
    now = T0 + timedelta(minutes=5)
    records = {"call-1": f"{int((T0 + timedelta(seconds=20)).timestamp())}:timeout",
               "call-3": f"{int((T0 + timedelta(seconds=15)).timestamp())}:machine",
               "an-old-call": f"{int(T0.timestamp())}:timeout"}  # fmt: skip
    async with connect(db_path) as db:
        for n, case_id in enumerate((dropped, ringing, machine), start=1):
            await open_attempt(db, case_id, f"call-{n}", T0)
        found = await recover_after_restart(db, now, records, machine_people=0.05)
        window = await live_answers_since(db, 1, T0 - timedelta(hours=1))  # the first wave
    assert 1 == found.abandoned
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT call_id, outcome, aapor_code, answered_at, ended_at FROM attempt ORDER BY id"
        ).fetchall()
    at, judged = ((T0 + timedelta(seconds=s)).isoformat() for s in (20, 15))
    assert [
        ("call-1", "abandoned", "3.21", at, at),
        ("call-2", "congestion", "3.16", None, now.isoformat()),
        ("call-3", "machine", "3.14", None, judged),
    ] == rows
    assert [
        (T0 + timedelta(seconds=15), "machine", 0.05),
        (T0 + timedelta(seconds=20), "abandoned", 0.0),
    ] == window


async def test_a_restart_with_detection_off_counts_the_dead_runs_machines_as_it_did(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """The dead run counted each verdict as a tenth of a person; the restart comes up with
    detection off (no estimate): a verdict it recovers from the dialplan's record counts a
    tenth too, not nobody."""
    earlier, open_one = await _cases(tmp_path, survey, db_path, 2)
    judged = f"{int((T0 + timedelta(seconds=70)).timestamp())}:machine"
    async with connect(db_path) as db:
        call = new_call("done", earlier, T0)
        await open_attempt(db, earlier, "done", T0)
        call, _ = transition(call, MachineDetected(T0 + timedelta(seconds=9)))
        await close_attempt(db, call, machine_people=0.1)
        await open_attempt(db, open_one, "open", T0 + timedelta(seconds=60))
        found = await recover_after_restart(db, T0 + timedelta(minutes=5), {"open": judged})
    assert (0, 1) == (found.abandoned, found.machines)
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT outcome, machine_people FROM attempt WHERE call_id = 'open'")
        assert ("machine", 0.1) == row.fetchone()


async def test_a_restart_keeps_the_disposition_of_an_interview_whose_close_failed(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """The operator's disposition was stored but the call's close was not (the store was
    locked, then the dialer stopped): a restart keeps it connected with its code, where it
    coded it a technical failure, and the other open attempt congestion as before."""
    first, second = await _cases(tmp_path, survey, db_path, 2)
    async with connect(db_path) as db:
        await open_attempt(db, first, "interview", T0)
        await set_disposition(db, "interview", Disposition.COMPLETE)
        await open_attempt(db, second, "ringing", T0)
        await recover_after_restart(db, T0 + timedelta(minutes=1))
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT call_id, outcome, aapor_code, connected_at IS NOT NULL FROM attempt ORDER BY id"
        )
        assert [
            ("interview", "connected", "1.1", 1),
            ("ringing", "congestion", "3.16", 0),
        ] == list(rows)


async def test_the_closed_attempts_among_a_thousand_call_ids_are_found_in_order(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Of 1,200 call ids asked about (the query asks 500 at a time): the 600 with a closed
    attempt, in the order asked; ids of other campaigns' calls and of an open attempt are
    left out."""
    case_id = await _case(tmp_path, survey, db_path)
    ids = [f"call-{n:04d}" for n in range(1200)]
    closed = ids[::2]
    async with connect(db_path) as db:
        for call_id in closed:
            call = new_call(call_id, case_id, T0)
            await open_attempt(db, case_id, call_id, T0)
            ended, _ = transition(call, OriginateEnded(T0 + timedelta(seconds=3), 3))
            await close_attempt(db, ended)
        await open_attempt(db, case_id, ids[1], T0)
        assert closed == await closed_call_ids(db, ids)
