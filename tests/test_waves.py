"""Waves: a new wave draws afresh but leaves out recent completes and refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dialer.frame_import import import_frame
from dialer.store.cases import finish_case
from dialer.store.db import StoreError, connect
from dialer.store.quotas import _per_cell, barred_sql, load_counts
from dialer.store.releases import make_release
from dialer.store.waves import ensure_wave
from sampling.cells import CellKey
from sampling.margins import load_margins
from sampling.survey import Survey, WaveRule, load_survey
from sampling.waves import lookback
from tests.conftest import SurveyFactory, landline, write_frame

ROWS = [f"{landline(i)},North,25,M," for i in range(40)]


def test_lookback_covers_the_last_n_waves() -> None:
    """Wave 5 with a two-wave rule looks at waves 3 and 4; wave 1 at none."""
    assert [3, 4] == list(lookback(5, WaveRule(exclude_last=2)))
    assert [] == list(lookback(1, WaveRule(exclude_last=2)))
    assert [] == list(lookback(5, WaveRule(exclude_last=0)))


async def _wave(db_path: Path, survey: Survey, frame: Path) -> list[int]:
    await import_frame(db_path, survey, frame, [])
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        return sorted(int(i) for i in (await make_release(db, survey, wave, seed=1)).case_ids)


async def test_next_wave_leaves_out_numbers_that_completed_or_refused(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """Numbers that completed or refused in wave 1 are not drawn in wave 2, nor a number put
    on a do-not-call list since (one of them already left out); others may be. The counts
    show the same numbers available as the release draws."""
    frame = write_frame(tmp_path / "f.csv", ROWS)
    one = make_survey(wave=1, interviews=40)
    ids = await _wave(db_path, one, frame)
    async with connect(db_path) as db:
        wave = await ensure_wave(db, one, load_margins(one.margins_path, one.grid))
        await finish_case(db, one, wave, ids[1], "refusal")
        await finish_case(db, one, wave, ids[2], "ineligible")
        await finish_case(db, one, wave, ids[0], "complete", CellKey("North", "18-34", "M"))
    with sqlite3.connect(db_path) as db:
        phone = dict(db.execute("SELECT id, phone FROM sample_case WHERE wave_id = 1"))
    two = make_survey(wave=2, interviews=12)
    await import_frame(db_path, two, frame, [])
    async with connect(db_path) as db:
        wave2 = await ensure_wave(db, two, load_margins(two.margins_path, two.grid))
        # Ask for every number: the release's reach shows exactly what is excluded.
        with sqlite3.connect(db_path) as raw:
            raw.execute("UPDATE cell SET target = 40 WHERE wave_id = ?", (wave2.wave_id,))
            raw.executemany(
                "INSERT INTO dnc_number VALUES (?, 'test', '2026-11-24')",
                [(phone[ids[0]],), (phone[ids[3]],)],
            )
        available = (await load_counts(db, two, wave2)).available
        # the barred numbers, found from the list (short, as here) or from the frame
        assert 3 == (await _per_cell(db, wave2, *barred_sql(two, wave2, True))).sum()
        assert 3 == (await _per_cell(db, wave2, *barred_sql(two, wave2, False))).sum()
        drawn = await make_release(db, two, wave2, seed=1)
    with sqlite3.connect(db_path) as db:
        released = {
            r[0]
            for r in db.execute(
                "SELECT phone FROM sample_case WHERE release_id = ?", (drawn.release_id,)
            )
        }
    assert 37 == len(released) == available.sum()
    assert phone[ids[0]] not in released
    assert phone[ids[3]] not in released
    assert phone[ids[1]] not in released
    assert phone[ids[2]] in released


async def test_changing_a_waves_cells_is_refused(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """An existing wave's districts, bands and sexes cannot change; the error says what to do."""
    survey = make_survey()
    async with connect(db_path) as db:
        await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
    text = survey.source_text.replace('["North", "South"]', '["North", "South", "East"]')
    (tmp_path / "margins.csv").write_text(
        (tmp_path / "margins.csv").read_text()
        + "".join(f"East,{b},{s},10\n" for b in ("18-34", "35-64", "65+") for s in "MF")
    )
    (tmp_path / "changed.toml").write_text(text)
    changed = load_survey(tmp_path / "changed.toml")
    async with connect(db_path) as db:
        with pytest.raises(StoreError, match="start a new wave"):
            await ensure_wave(db, changed, load_margins(changed.margins_path, changed.grid))
