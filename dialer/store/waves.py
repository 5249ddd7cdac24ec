"""Surveys, waves and their quota cells in the store."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite
import numpy as np
import numpy.typing as npt

from dialer.store.db import StoreError, transaction, utc_now
from sampling.allocation import AllocationError, allocate
from sampling.cells import CellKey
from sampling.survey import Survey

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class WaveRef:
    """A survey wave as stored, with the ids of its cells in canonical order."""

    survey_id: int
    wave_id: int
    number: int
    cell_ids: tuple[int, ...]


def design_targets(survey: Survey, population: Ints) -> Ints:
    """Targets per cell from the survey's allocation rules and population margins."""
    fixed: dict[int, int] = {}
    for key, value in survey.quotas.overrides.items():
        index = survey.grid.index(key)
        people = int(population[index])
        if value > people:  # a cell of 15 people cannot give 20 interviews
            raise AllocationError(
                f"quotas.overrides.{str(key)!r} = {value} is more than the cell's population"
                f" ({people})"
            )
        fixed[index] = value
    return allocate(survey.interviews, population, survey.quotas.minimum_per_cell, fixed)


async def find_wave(db: aiosqlite.Connection, survey: Survey) -> WaveRef | None:
    """The survey's current wave as stored, or None; reads only. StoreError when it was
    created with other cells than the survey's."""
    survey_id = await _scalar_or_none(db, "SELECT id FROM survey WHERE name = ?", (survey.name,))
    if survey_id is None:
        return None
    wave_id = await _scalar_or_none(
        db, "SELECT id FROM wave WHERE survey_id = ? AND number = ?", (survey_id, survey.wave)
    )
    if wave_id is None:
        return None
    await _check_cells(db, wave_id, survey)
    return WaveRef(survey_id, wave_id, survey.wave, await _cell_ids(db, wave_id))


async def wave_definition(db: aiosqlite.Connection, wave: WaveRef) -> str:
    """The survey file's text the wave was last defined by."""
    async with db.execute("SELECT definition FROM wave WHERE id = ?", (wave.wave_id,)) as cursor:
        row = await cursor.fetchone()
    return str(row[0]) if row else ""


async def ensure_wave(
    db: aiosqlite.Connection,
    survey: Survey,
    population: Ints,
    now: str | None = None,
    update_targets: bool = True,
) -> WaveRef:
    """The survey's current wave, created with its cells on first use.

    A later call with a changed definition updates targets and population (the campaign
    does, at its start), unless ``update_targets`` is False (importing a frame, releasing
    by hand: a survey file passed by mistake must not close cells). The cells themselves
    (districts, age bands, sexes) of a wave that exists cannot change.
    """
    targets = design_targets(survey, population)
    keys = survey.grid.cells()
    async with transaction(db):
        await db.execute("INSERT OR IGNORE INTO survey (name) VALUES (?)", (survey.name,))
        survey_id = await _scalar(db, "SELECT id FROM survey WHERE name = ?", (survey.name,))
        wave_id = await _scalar_or_none(
            db, "SELECT id FROM wave WHERE survey_id = ? AND number = ?", (survey_id, survey.wave)
        )
        if wave_id is None:
            cursor = await db.execute(
                "INSERT INTO wave (survey_id, number, definition, created_at) VALUES (?, ?, ?, ?)",
                (survey_id, survey.wave, survey.source_text, now or utc_now()),
            )
            wave_id = int(cursor.lastrowid or 0)
            await db.executemany(
                "INSERT INTO cell (wave_id, position, district, age_band, sex, population, target)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (wave_id, i, k.district, k.age_band, k.sex, int(p), int(t))
                    for i, (k, p, t) in enumerate(zip(keys, population, targets, strict=True))
                ],
            )
        else:
            await _check_cells(db, wave_id, survey)
            if not update_targets:
                return WaveRef(survey_id, wave_id, survey.wave, await _cell_ids(db, wave_id))
            await db.execute(
                "UPDATE wave SET definition = ? WHERE id = ?", (survey.source_text, wave_id)
            )
            await db.executemany(
                "UPDATE cell SET population = ?, target = ? WHERE wave_id = ? AND position = ?",
                [
                    (int(p), int(t), wave_id, i)
                    for i, (p, t) in enumerate(zip(population, targets, strict=True))
                ],
            )
            await _reclose(db, wave_id, now or utc_now())
        cell_ids = await _cell_ids(db, wave_id)
    return WaveRef(survey_id, wave_id, survey.wave, cell_ids)


WITHDRAWABLE = (
    "state = 'released' AND NOT EXISTS (SELECT 1 FROM attempt a"
    " WHERE a.case_id = sample_case.id AND (a.ended_at IS NULL"
    " OR (a.outcome = 'connected' AND a.disposition IS NULL AND a.aapor_code IS NULL)))"
)
"""A ``sample_case`` a closing cell gives up: released, neither being dialled nor in an
interview whose disposition its operator still owes (a connected call with no code yet;
one a dead process left is coded at the restart)."""


async def _reclose(db: aiosqlite.Connection, wave_id: int, now: str) -> None:
    """After targets changed: a cell is closed exactly when its completes reach its target, and
    a cell that closed now gives up its released numbers not being dialled. A cell open again
    (its target raised) takes back the numbers its closing gave up: a withdrawn number on no
    do-not-call list was withdrawn by a closing, the only other reason (a target lowered by
    mistake, then raised, lost that sample and its call history)."""
    await db.execute(
        "UPDATE cell SET closed_at = CASE WHEN (SELECT count(*) FROM sample_case c"
        " WHERE c.verified_cell_id = cell.id AND c.result = 'complete') >= target"
        " THEN coalesce(closed_at, ?) ELSE NULL END WHERE wave_id = ?",
        (now, wave_id),
    )
    await db.execute(
        "UPDATE sample_case SET state = 'released' WHERE wave_id = ? AND state = 'withdrawn'"
        " AND NOT EXISTS (SELECT 1 FROM dnc_number d WHERE d.phone = sample_case.phone)"
        " AND cell_id IN (SELECT id FROM cell WHERE wave_id = ? AND closed_at IS NULL)",
        (wave_id, wave_id),
    )
    await db.execute(
        f"UPDATE sample_case SET state = 'withdrawn' WHERE wave_id = ? AND {WITHDRAWABLE}"
        " AND cell_id IN (SELECT id FROM cell WHERE wave_id = ? AND closed_at IS NOT NULL)",
        (wave_id, wave_id),
    )


async def _check_cells(db: aiosqlite.Connection, wave_id: int, survey: Survey) -> None:
    """A wave's cells (districts, age bands, sexes) are fixed once it exists."""
    if await _stored_keys(db, wave_id) != survey.grid.cells():
        raise StoreError(
            f"wave {survey.wave} of survey {survey.name!r} was created with other cells "
            "(survey.districts, survey.age_bands or survey.sex changed); start a new wave "
            "(survey.wave) to change them"
        )


async def _stored_keys(db: aiosqlite.Connection, wave_id: int) -> list[CellKey]:
    async with db.execute(
        "SELECT district, age_band, sex FROM cell WHERE wave_id = ? ORDER BY position", (wave_id,)
    ) as cursor:
        return [CellKey(r[0], r[1], r[2]) async for r in cursor]


async def _cell_ids(db: aiosqlite.Connection, wave_id: int) -> tuple[int, ...]:
    async with db.execute(
        "SELECT id FROM cell WHERE wave_id = ? ORDER BY position", (wave_id,)
    ) as cursor:
        return tuple([int(r[0]) async for r in cursor])


async def _scalar(db: aiosqlite.Connection, sql: str, args: tuple[object, ...]) -> int:
    value = await _scalar_or_none(db, sql, args)
    if value is None:
        raise StoreError(f"no row for {sql!r}")
    return value


async def _scalar_or_none(
    db: aiosqlite.Connection, sql: str, args: tuple[object, ...]
) -> int | None:
    async with db.execute(sql, args) as cursor:
        row = await cursor.fetchone()
    return None if row is None else int(row[0])
