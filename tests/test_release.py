"""Releases from the store: sized by need and yield, reproducible, audited, topped up."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import numpy as np

from dialer.frame_import import import_frame
from dialer.store.attempts import recover_after_restart
from dialer.store.cases import FinishOutcome, finish_case, start_interview
from dialer.store.db import connect
from dialer.store.quotas import load_counts
from dialer.store.releases import make_release, plan_release, released_case_ids
from dialer.store.waves import WaveRef, ensure_wave
from sampling.cells import CellKey
from sampling.margins import load_margins
from sampling.release import thin_cells
from sampling.survey import Survey
from tests.conftest import landline, write_frame


def frame_rows(per_cell: int, start: int = 0) -> list[str]:
    """``per_cell`` numbers in each of the test survey's 12 cells."""
    rows = []
    n = start
    for district in ("North", "South"):
        for age in (20, 40, 70):
            for sex in "MF":
                for _ in range(per_cell):
                    rows.append(f"{landline(n)},{district},{age},{sex},")
                    n += 1
    return rows


async def setup(tmp_path: Path, survey: Survey, db_path: Path, per_cell: int = 30) -> WaveRef:
    await import_frame(db_path, survey, write_frame(tmp_path / "f.csv", frame_rows(per_cell)), [])
    async with connect(db_path) as db:
        return await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))


async def test_first_release_is_need_over_prior_yield_per_cell(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """With no results yet, each cell gets ceil(target / prior yield) numbers."""
    wave = await setup(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        result = await make_release(db, survey, wave, seed=1)
    target = result.plan.counts.target
    assert 40 == int(target.sum())
    assert np.ceil(target / 0.5).astype(int).tolist() == result.drawn.tolist()


async def test_release_is_stored_with_seed_cells_and_case_ids(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Every release keeps its seed, per-cell counts and the ids of the cases it drew."""
    wave = await setup(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        result = await make_release(db, survey, wave, seed=99)
        stored_ids = await released_case_ids(db, result.release_id)
    assert sorted(result.case_ids.tolist()) == stored_ids
    with sqlite3.connect(db_path) as db:
        seed, size = db.execute("SELECT seed, size FROM release").fetchone()
        drawn = [r[0] for r in db.execute("SELECT drawn FROM release_cell ORDER BY cell_id")]
    assert ("99", result.size) == (seed, size)
    assert result.drawn.tolist() == drawn


async def test_same_store_state_and_seed_give_the_same_release(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Two copies of one store released with the same seed draw the same cases."""
    wave = await setup(tmp_path, survey, db_path)
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(db_path, copy)
    async with connect(db_path) as db:
        first = await make_release(db, survey, wave, seed=5)
    async with connect(copy) as db:
        again = await make_release(db, survey, wave, seed=5)
    async with connect(copy) as db:
        other = await make_release(db, survey, wave, seed=6)
    assert first.case_ids.tolist() == again.case_ids.tolist()
    assert 0 == other.size  # the outstanding numbers already cover every cell's need


async def test_a_second_release_tops_up_only_where_yield_fell_short(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Refusals in one cell lower its yield estimate, and only that cell gets more numbers."""
    wave = await setup(tmp_path, survey, db_path)
    cell = CellKey("North", "35-64", "M")
    position = survey.grid.index(cell)
    async with connect(db_path) as db:
        first = await make_release(db, survey, wave, seed=1)
        drawn_here = [int(i) for i in first.case_ids if await _cell_of(db_path, int(i)) == position]
        for case_id in drawn_here:
            await finish_case(db, survey, wave, case_id, "refusal")
        second = await make_release(db, survey, wave, seed=2)
    assert [position] == np.flatnonzero(second.drawn).tolist()
    # Yield shrinks toward the prior: (0 + 10 * 0.5) / (n + 10), not zero.
    expected_yield = 5 / (len(drawn_here) + 10)
    assert abs(expected_yield - second.plan.expected_yield[position]) < 1e-9


async def test_draw_excludes_dnc_added_after_import(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A number put on the do-not-call list after import is never released."""
    wave = await setup(tmp_path, survey, db_path, per_cell=2)
    with sqlite3.connect(db_path) as db:
        db.execute(
            "INSERT INTO dnc_number VALUES (?, 'later list', '2026-11-23')", ("+39" + landline(0),)
        )
    async with connect(db_path) as db:
        result = await make_release(db, survey, wave, seed=1)
    with sqlite3.connect(db_path) as db:
        phones = {r[0] for r in db.execute("SELECT phone FROM sample_case WHERE release_id = 1")}
    assert 23 == result.size
    assert "+39" + landline(0) not in phones


async def test_a_released_number_put_on_the_dnc_list_is_withdrawn_and_replaced(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A later import's do-not-call list names a released number: it is withdrawn (never
    dialled, no longer out) and the next release draws its cell another."""
    wave = await setup(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        first = await make_release(db, survey, wave, seed=1)
    listed = int(first.case_ids[0])
    with sqlite3.connect(db_path) as db:
        phone, position = db.execute(
            "SELECT c.phone, k.position FROM sample_case c JOIN cell k ON k.id = c.cell_id"
            " WHERE c.id = ?",
            (listed,),
        ).fetchone()
    (tmp_path / "dnc.csv").write_text(f"phone\n{phone}\n", encoding="utf-8")
    await import_frame(db_path, survey, write_frame(tmp_path / "g.csv", []), [tmp_path / "dnc.csv"])
    async with connect(db_path) as db:
        second = await make_release(db, survey, wave, seed=2)
    with sqlite3.connect(db_path) as db:
        state = db.execute("SELECT state FROM sample_case WHERE id = ?", (listed,)).fetchone()
    assert ("withdrawn",) == state
    assert 1 == int(second.drawn[position])


CELL = CellKey("South", "18-34", "M")


async def _cell_released(
    db: aiosqlite.Connection, db_path: Path, survey: Survey, wave: WaveRef
) -> tuple[int, list[int]]:
    """A first release (seed 3): CELL's target, and its cases in that release."""
    release = await make_release(db, survey, wave, seed=3)
    position = survey.grid.index(CELL)
    target = int(release.plan.counts.target[position])
    return target, [int(i) for i in release.case_ids if await _cell_of(db_path, int(i)) == position]


async def _fill(
    db: aiosqlite.Connection, survey: Survey, wave: WaveRef, cases: list[int]
) -> list[FinishOutcome]:
    """Each case interviewed and complete in CELL."""
    outcomes = []
    for case_id in cases:
        assert await start_interview(db, survey, wave, case_id)
        outcomes.append(await finish_case(db, survey, wave, case_id, "complete", CELL))
    return outcomes


async def _connected_call_without_disposition(db: aiosqlite.Connection, case_id: int) -> None:
    await db.execute(
        "INSERT INTO attempt (case_id, call_id, started_at, connected_at, ended_at, outcome)"
        " VALUES (?, 'owed', '2026-11-23T10:00:00Z', '2026-11-23T10:00:20Z',"
        " '2026-11-23T10:01:00Z', 'connected')",
        (case_id,),
    )


async def test_full_cell_closes_and_withdraws_undialled_numbers(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """When completes reach the target the cell closes; its released, undialled numbers go."""
    wave = await setup(tmp_path, survey, db_path)
    position = survey.grid.index(CELL)
    async with connect(db_path) as db:
        target, mine = await _cell_released(db, db_path, survey, wave)
        outcomes = await _fill(db, survey, wave, mine[:target])
        again = await make_release(db, survey, wave, seed=4)
    assert (CELL,) == outcomes[-1].closed_cells
    assert len(mine) - target == outcomes[-1].withdrawn
    assert 0 == again.drawn[position]
    with sqlite3.connect(db_path) as db:
        states = dict(
            db.execute(
                "SELECT state, count(*) FROM sample_case WHERE cell_id = ? GROUP BY state",
                (wave.cell_ids[position],),
            ).fetchall()
        )
    assert {"finished": target, "withdrawn": len(mine) - target, "frame": 30 - len(mine)} == states


async def test_a_closing_cell_keeps_a_case_whose_disposition_is_owed(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A callee put through when the cell had no place left hangs up; before the operator
    posts the disposition, the cell's last complete closes it. The case is not withdrawn
    under the operator: its disposition (over quota) still finishes it."""
    wave = await setup(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        target, mine = await _cell_released(db, db_path, survey, wave)
        owed, undialled = mine[target], mine[target + 1 :]
        await _connected_call_without_disposition(db, owed)
        closing = (await _fill(db, survey, wave, mine[:target]))[-1]
        assert (CELL,) == closing.closed_cells
        assert len(undialled) == closing.withdrawn
        assert "over_quota" == (await finish_case(db, survey, wave, owed, "over_quota")).result


async def test_an_interview_a_dead_dialer_left_no_longer_holds_its_case(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """The dialer died while an operator owed a disposition: the restart codes that attempt
    2.36 (no process will ever take its disposition), and a closing cell withdraws the case
    as any other released number."""
    wave = await setup(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        target, mine = await _cell_released(db, db_path, survey, wave)
        cut_off = mine[target]
        await _connected_call_without_disposition(db, cut_off)
        await recover_after_restart(db, datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
        closing = (await _fill(db, survey, wave, mine[:target]))[-1]
    assert len(mine) - target == closing.withdrawn
    with sqlite3.connect(db_path) as db:
        assert [("withdrawn", "2.36")] == db.execute(
            "SELECT c.state, a.aapor_code FROM sample_case c JOIN attempt a ON a.case_id = c.id"
            " WHERE c.id = ?",
            (cut_off,),
        ).fetchall()


async def _cell_of(db_path: Path, case_id: int) -> int:
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT k.position FROM sample_case c JOIN cell k ON k.id = c.cell_id WHERE c.id = ?",
            (case_id,),
        ).fetchone()
    return int(row[0])


async def test_successive_releases_never_draw_a_number_twice(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Releases topping up after refusals draw only numbers never released before."""
    wave = await setup(tmp_path, survey, db_path)
    seen: list[int] = []
    async with connect(db_path) as db:
        for seed in range(4):
            result = await make_release(db, survey, wave, seed=seed)
            seen += [int(i) for i in result.case_ids]
            for case_id in result.case_ids[::2]:
                await finish_case(db, survey, wave, int(case_id), "refusal")
    assert len(seen) == len(set(seen))
    assert len(seen) > 80  # the top-ups did draw


async def test_thin_cells_are_reported_before_any_call(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A cell whose frame, at the expected yield, cannot reach its target is flagged."""
    rows = frame_rows(30)
    rows = [r for r in rows if ",North,40,M," not in r]  # North/35-64/M has no numbers at all
    await import_frame(db_path, survey, write_frame(tmp_path / "f.csv", rows), [])
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        counts = await load_counts(db, survey, wave)
    plan = plan_release(counts, survey)
    thin = thin_cells(plan.need, plan.expected_yield, counts.available + counts.released)
    assert [survey.grid.index(CellKey("North", "35-64", "M"))] == np.flatnonzero(thin).tolist()


async def test_a_number_put_on_do_not_call_after_release_is_never_dialled(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """A later do-not-call import takes a released number out of the dialler's list."""
    from dialer.store.attempts import dialable_cases

    wave = await setup(tmp_path, survey, db_path, per_cell=2)
    async with connect(db_path) as db:
        await make_release(db, survey, wave, seed=1)
        before = {c.phone for c in await dialable_cases(db, wave.wave_id)}
    (tmp_path / "dnc.txt").write_text(f"{landline(0)}\n", encoding="utf-8")
    await import_frame(
        db_path, survey, write_frame(tmp_path / "none.csv", []), [tmp_path / "dnc.txt"]
    )
    async with connect(db_path) as db:
        after = {c.phone for c in await dialable_cases(db, wave.wave_id)}
    assert "+39" + landline(0) in before
    assert before - {"+39" + landline(0)} == after


async def test_numbers_held_back_do_not_count_toward_a_cells_need(
    tmp_path: Path, survey: Survey, db_path: Path
) -> None:
    """Released numbers that may not be called for a long while (72 hours after an abandoned
    call) are left out of what a cell has in play: the next release tops the cell up as if
    they were not there, and records them beside its outstanding numbers."""
    wave = await setup(tmp_path, survey, db_path)
    async with connect(db_path) as db:
        first = await make_release(db, survey, wave, seed=1)
        counts = await load_counts(db, survey, wave)
        assert 0 == plan_release(counts, survey).requested.sum()  # all still in play
        waiting = counts.released.copy()
        waiting[0] = 0  # cell 0's numbers are callable; every other cell's all wait
        plan = plan_release(counts, survey, held_back=waiting)
        again = await make_release(db, survey, wave, seed=2, held_back=waiting)
        stored = [tuple(r) for r in await db.execute_fetchall(
            "SELECT outstanding, held_back FROM release_cell WHERE release_id = ?"
            " ORDER BY cell_id",
            (again.release_id,),
        )]  # fmt: skip
    assert 0 == plan.requested[0]
    assert first.drawn[1:].tolist() == plan.requested[1:].tolist()
    assert plan.requested.tolist() == again.drawn.tolist()
    assert list(zip(first.drawn.tolist(), waiting.tolist(), strict=True)) == stored
