"""A case's way through an interview: reserve a quota place, finish with a result.

Every quota decision is made inside one write transaction on counts read from the cases, so
two interviews finishing at once cannot both take a cell's last place.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from dialer.store.db import StoreError, transaction, utc_now
from dialer.store.quotas import load_counts
from dialer.store.responses import Answers, record_response
from dialer.store.waves import WITHDRAWABLE, WaveRef
from sampling.cells import CellKey
from sampling.quota import complete, newly_closed, reserve
from sampling.survey import RESULTS, Survey

CASE_RESULTS = RESULTS


@dataclass(frozen=True, slots=True)
class FinishOutcome:
    """What finishing a case did: its stored result, and the cells it closed."""

    result: str
    closed_cells: tuple[CellKey, ...]
    withdrawn: int


async def _case(
    db: aiosqlite.Connection, wave: WaveRef, case_id: int
) -> tuple[str, int, int | None]:
    async with db.execute(
        "SELECT state, cell_id, reserved_cell_id FROM sample_case WHERE id = ? AND wave_id = ?",
        (case_id, wave.wave_id),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise StoreError(f"case {case_id}: no such case in this wave")
    return str(row[0]), int(row[1]), row[2]


async def start_interview(
    db: aiosqlite.Connection, survey: Survey, wave: WaveRef, case_id: int
) -> bool:
    """Reserve a place in the case's frame cell; False (and nothing changed) if it is full."""
    async with transaction(db):
        state, cell_id, _ = await _case(db, wave, case_id)
        if state != "released":
            raise StoreError(f"case {case_id}: is {state}, not released; cannot start an interview")
        quota = (await load_counts(db, survey, wave)).quota(survey.quotas.allowance)
        if not quota.can_admit(wave.cell_ids.index(cell_id)):
            return False
        await db.execute(
            "UPDATE sample_case SET state = 'in_progress', reserved_cell_id = ? WHERE id = ?",
            (cell_id, case_id),
        )
    return True


async def finish_case(
    db: aiosqlite.Connection,
    survey: Survey,
    wave: WaveRef,
    case_id: int,
    result: str,
    verified: CellKey | None = None,
    now: str | None = None,
    answers: Answers | None = None,
) -> FinishOutcome:
    """Close a case with its final result.

    A complete's ``answers`` are stored, anonymously (``responses``), in the same transaction
    and only if the interview counts as complete.

    A complete counts in the respondent's ``verified`` cell. When that cell has no place left
    (its completes and other interviews in progress reach its cap), the interview is stored as
    ``over_quota`` and counts nowhere. A cell whose completes reach its target closes, and its
    released numbers not being dialled or in an interview (a connected call whose disposition
    is owed) are withdrawn.
    """
    if result not in CASE_RESULTS:
        raise StoreError(f"result {result!r} is not one of {', '.join(CASE_RESULTS)}")
    if result == "complete" and verified is None:
        raise StoreError("a complete needs the respondent's verified district, age band and sex")
    stamp = now or utc_now()
    async with transaction(db):
        state, _, reserved = await _case(db, wave, case_id)
        if state not in ("released", "in_progress"):
            raise StoreError(f"case {case_id}: is {state}; only a released case can finish")
        counts = await load_counts(db, survey, wave)
        before = counts.quota(survey.quotas.allowance)
        verified_id: int | None = None
        after = before
        if result == "complete":
            assert verified is not None
            try:
                target_cell = survey.grid.index(verified)
            except KeyError:
                raise StoreError(f"verified cell {verified} is not a cell of this survey") from None
            verified_id = wave.cell_ids[target_cell]
            held = wave.cell_ids.index(reserved) if reserved is not None else None
            # The reservation of this very interview is a place the verified cell may use.
            own = 1 if held == target_cell else 0
            used = int(before.completes[target_cell] + before.in_progress[target_cell]) - own
            if used >= int(before.cap[target_cell]):
                result, verified_id = "over_quota", None
            elif held is not None:
                after = complete(before, held, target_cell)
            else:
                after = complete(reserve(before, target_cell), target_cell, target_cell)
        await db.execute(
            "UPDATE sample_case SET state = 'finished', result = ?, verified_cell_id = ?,"
            " reserved_cell_id = NULL, finished_at = ? WHERE id = ?",
            (result, verified_id, stamp, case_id),
        )
        if result == "complete" and answers is not None:
            assert verified is not None
            await record_response(db, wave.wave_id, verified, answers)
        closed = newly_closed(before, after)
        withdrawn = 0
        for position in closed:
            closed_id = wave.cell_ids[position]
            await db.execute("UPDATE cell SET closed_at = ? WHERE id = ?", (stamp, closed_id))
            cursor = await db.execute(
                f"UPDATE sample_case SET state = 'withdrawn' WHERE cell_id = ? AND {WITHDRAWABLE}",
                (closed_id,),
            )
            withdrawn += cursor.rowcount
    keys = survey.grid.cells()
    return FinishOutcome(result, tuple(keys[p] for p in closed), withdrawn)


async def withdraw_if_barred(db: aiosqlite.Connection, case_id: int) -> bool:
    """Withdraw a released case whose cell closed, or whose number went on a do-not-call
    list, while it was being dialled or interviewed (the import then left it alone: a call
    was under way). Otherwise it stayed released for ever: never dialled again, never
    finished, and counted as sample still out in every release."""
    async with transaction(db):
        cursor = await db.execute(
            "UPDATE sample_case SET state = 'withdrawn' WHERE id = ? AND state = 'released'"
            " AND ((SELECT closed_at FROM cell WHERE cell.id = sample_case.cell_id) IS NOT NULL"
            "      OR EXISTS (SELECT 1 FROM dnc_number d WHERE d.phone = sample_case.phone))",
            (case_id,),
        )
    return cursor.rowcount == 1


async def cancel_interview(db: aiosqlite.Connection, wave: WaveRef, case_id: int) -> bool:
    """An interview that did not finish now (the respondent asked to be called back, or it
    was an answering machine): its quota place is given back and the case is released to be
    called again."""
    async with transaction(db):
        state, _, _ = await _case(db, wave, case_id)
        if state not in ("released", "in_progress"):
            raise StoreError(f"case {case_id}: is {state}; it cannot be called back")
        cursor = await db.execute(
            "UPDATE sample_case SET state = 'released', reserved_cell_id = NULL"
            " WHERE id = ? AND state = 'in_progress'",
            (case_id,),
        )
    return cursor.rowcount == 1
