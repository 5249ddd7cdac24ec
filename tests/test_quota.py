"""Quota bookkeeping: reservations, completes in the verified cell, closing, soft overshoot."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.call.state import HungUp, OriginateEnded, new_call, transition
from dialer.frame_import import import_frame
from dialer.store.attempts import close_attempt, open_attempt
from dialer.store.cases import finish_case, start_interview
from dialer.store.db import StoreError, connect
from dialer.store.quotas import ended_dials, load_counts
from dialer.store.releases import make_release
from dialer.store.waves import ensure_wave
from sampling.cells import CellKey
from sampling.margins import load_margins
from sampling.quota import QuotaState, complete, newly_closed, reserve
from sampling.survey import Survey
from tests.conftest import SurveyFactory, landline, write_frame


def state(target: int, completes: int = 0, in_progress: int = 0, allowance: int = 0) -> QuotaState:
    return QuotaState(np.array([target]), np.array([completes]), np.array([in_progress]), allowance)


@given(
    target=st.integers(0, 20),
    starts=st.lists(st.booleans(), max_size=60),
    allowance=st.integers(0, 3),
)
def test_admission_never_lets_completes_pass_the_cap(
    target: int, starts: list[bool], allowance: int
) -> None:
    """Whatever order interviews start and finish in, completes never exceed target + allowance."""
    q = state(target, allowance=allowance)
    for start in starts:
        if start and q.can_admit(0):
            q = reserve(q, 0)
        elif q.in_progress[0]:
            q = complete(q, 0, 0)
    assert int(q.completes[0] + q.in_progress[0]) <= target + allowance


def test_need_counts_interviews_in_progress() -> None:
    """Remaining need is target minus completes minus interviews in progress."""
    assert [3] == state(10, completes=5, in_progress=2).need.tolist()
    assert [0] == state(10, completes=9, in_progress=4).need.tolist()


def test_a_cell_closes_when_completes_reach_target() -> None:
    """The complete that reaches the target closes the cell, and only that one."""
    before = state(2, completes=1, in_progress=1)
    after = complete(before, 0, 0)
    assert [0] == newly_closed(before, after)
    assert [] == newly_closed(after, after)


async def _released(tmp_path: Path, survey: Survey, db_path: Path, rows: list[str]) -> list[int]:
    await import_frame(db_path, survey, write_frame(tmp_path / "f.csv", rows), [])
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        result = await make_release(db, survey, wave, seed=1)
    return sorted(int(i) for i in result.case_ids)


NORTH_YOUNG_MEN = [f"{landline(i)},North,25,M," for i in range(12)]


async def test_hard_quota_refuses_a_start_when_reservations_fill_the_cell(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """With the cell's places all reserved by interviews in progress, no other interview starts."""
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN)
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        target = int((await load_counts(db, survey, wave)).target[0])
        started = [await start_interview(db, survey, wave, i) for i in ids[: target + 1]]
    assert [True] * target + [False] == started


async def test_complete_counts_in_the_verified_cell_not_the_frame_cell(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A respondent the frame put in one cell who turns out to be in another counts there."""
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN)
    verified = CellKey("South", "65+", "F")
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        assert await start_interview(db, survey, wave, ids[0])
        outcome = await finish_case(db, survey, wave, ids[0], "complete", verified)
        counts = await load_counts(db, survey, wave)
    assert "complete" == outcome.result
    assert 1 == counts.completes[survey.grid.index(verified)]
    assert 0 == counts.completes[0] + counts.in_progress[0]


SOUTH_OLD_WOMEN = [f"{landline(100 + i)},South,70,F," for i in range(6)]


async def test_complete_into_a_full_verified_cell_is_over_quota(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """Hard quotas: a complete whose verified cell is full counts nowhere (over_quota)."""
    survey = make_survey(interviews=12)  # one interview per cell
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN + SOUTH_OLD_WOMEN)
    cell = CellKey("North", "18-34", "M")
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        first = await finish_case(db, survey, wave, ids[0], "complete", cell)
        with pytest.raises(StoreError, match="is finished"):
            await finish_case(db, survey, wave, ids[0], "refusal")
        # A South case whose frame attributes were wrong: the respondent is a young northern man.
        other = await _released_elsewhere(db_path, survey, wave.wave_id, ids[0])
        second = await finish_case(db, survey, wave, other, "complete", cell)
        counts = await load_counts(db, survey, wave)
    assert ("complete", "over_quota") == (first.result, second.result)
    assert (cell,) == first.closed_cells
    assert 1 == counts.completes[0]


async def test_soft_quota_allows_the_configured_overshoot(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """Soft quotas: a full cell still takes up to `overshoot` more completes, then over_quota."""
    survey = make_survey(interviews=12, mode="soft", overshoot=1)
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN + SOUTH_OLD_WOMEN)
    cell = CellKey("North", "18-34", "M")
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        results = [(await finish_case(db, survey, wave, ids[0], "complete", cell)).result]
        for _ in range(2):
            other = await _released_elsewhere(db_path, survey, wave.wave_id, ids[0])
            results.append((await finish_case(db, survey, wave, other, "complete", cell)).result)
    assert ["complete", "complete", "over_quota"] == results


async def test_results_and_states_are_validated(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Unknown results, completes without a verified cell and unknown cases are clear errors."""
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN)
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        with pytest.raises(StoreError, match="result 'hung up'"):
            await finish_case(db, survey, wave, ids[0], "hung up")
        with pytest.raises(StoreError, match="verified district"):
            await finish_case(db, survey, wave, ids[0], "complete")
        with pytest.raises(StoreError, match="not a cell of this survey"):
            await finish_case(db, survey, wave, ids[0], "complete", CellKey("East", "65+", "M"))
        with pytest.raises(StoreError, match="case 999999: no such case"):
            await start_interview(db, survey, wave, 999999)


async def _released_elsewhere(db_path: Path, survey: Survey, wave_id: int, not_this: int) -> int:
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT id FROM sample_case WHERE wave_id = ? AND state = 'released' AND id != ?"
            " ORDER BY id LIMIT 1",
            (wave_id, not_this),
        ).fetchone()
    return int(row[0])


async def test_changing_a_target_reopens_or_closes_the_cell(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """A full cell whose target is raised reopens; one whose target falls to its completes
    closes and gives up its released numbers."""
    survey = make_survey(interviews=12)  # North/18-34/M: target 1
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN + SOUTH_OLD_WOMEN)
    cell = CellKey("North", "18-34", "M")
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        await finish_case(db, survey, wave, ids[0], "complete", cell)
    with sqlite3.connect(db_path) as raw:
        closed = raw.execute("SELECT closed_at FROM cell WHERE position = 0").fetchone()[0]
    assert closed is not None
    bigger = make_survey(interviews=40)  # the same wave, more interviews: target 3
    async with connect(db_path) as db:
        await ensure_wave(db, bigger, load_margins(bigger.margins_path, bigger.grid))
        reopened = await make_release(db, bigger, wave, seed=2)
    assert reopened.drawn[0] > 0
    async with connect(db_path) as db:
        await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
    with sqlite3.connect(db_path) as raw:
        closed = raw.execute("SELECT closed_at FROM cell WHERE position = 0").fetchone()[0]
        left = raw.execute(
            "SELECT count(*) FROM sample_case c JOIN cell k ON k.id = c.cell_id"
            " WHERE k.position = 0 AND c.state = 'released'"
        ).fetchone()[0]
    assert closed is not None
    assert 0 == left


async def test_a_cell_opened_again_takes_back_the_numbers_its_closing_gave_up(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """A target lowered to the completes closes the cell and withdraws its released numbers;
    raised again, the cell gets them back, but not one put on a do-not-call list meanwhile."""
    survey = make_survey(interviews=40)  # North/18-34/M: target 3
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN)
    cell = CellKey("North", "18-34", "M")
    smaller = make_survey(interviews=12)  # the same wave: target 1
    margins = load_margins(survey.margins_path, survey.grid)
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, margins)
        await finish_case(db, survey, wave, ids[0], "complete", cell)
        await ensure_wave(db, smaller, margins)  # closes the cell
    with sqlite3.connect(db_path) as raw:
        given_up = [
            r[0] for r in raw.execute("SELECT phone FROM sample_case WHERE state = 'withdrawn'")
        ]
        raw.execute("INSERT INTO dnc_number VALUES (?, 'later list', '2026-11-24')", (given_up[0],))
    assert len(given_up) == len(ids) - 1
    async with connect(db_path) as db:
        await ensure_wave(db, survey, margins)  # target 3 again: open
    with sqlite3.connect(db_path) as raw:
        states = dict(raw.execute("SELECT phone, state FROM sample_case"))
    assert "withdrawn" == states[given_up[0]]
    assert {"released"} == {states[phone] for phone in given_up[1:]}


async def test_ended_dials_count_by_the_frame_cell_and_leave_out_live_ones(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Three dials of North's young men ended and one still ringing, one of South's old women
    ended: the yield per dial's denominators are 3 and 1, whatever cell a respondent turns
    out to be in."""
    ids = await _released(tmp_path, survey, db_path, NORTH_YOUNG_MEN + SOUTH_OLD_WOMEN)
    north, south = ids[0], ids[-1]
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        for n, case_id in enumerate([north, north, north, south, ids[1]]):
            at = t0 + timedelta(minutes=n)
            await open_attempt(db, case_id, f"call-{n}", at)
            if n == 4:
                break  # still ringing
            call = new_call(f"call-{n}", case_id, at)
            call, _ = transition(call, HungUp(at, 17))
            call, _ = transition(call, OriginateEnded(at, 5))
            await close_attempt(db, call)
        assert await start_interview(db, survey, wave, north)
        await finish_case(db, survey, wave, north, "complete", CellKey("South", "65+", "F"))
        dials = await ended_dials(db, wave)
    assert 3 == dials[survey.grid.index(CellKey("North", "18-34", "M"))]
    assert 1 == dials[survey.grid.index(CellKey("South", "65+", "F"))]
    assert 4 == dials.sum()
