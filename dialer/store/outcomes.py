"""What the results need from the store: each case's attempt codes, the cells' population,
the survey's waves. Read-only."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from sampling.cells import CellKey


@dataclass(frozen=True, slots=True)
class CaseCodes:
    """A released case's frame cell and the AAPOR codes of its attempts (none: not dialled)."""

    cell: CellKey
    codes: tuple[str, ...]


async def case_codes(db: aiosqlite.Connection, wave_id: int) -> list[CaseCodes]:
    """Every case the wave released, with its attempts' codes. A case withdrawn before it was
    ever dialled (its cell closed) was never worked: it is not part of the sample."""
    cursor = await db.execute(
        "SELECT v.district, v.age_band, v.sex, c.state,"
        " group_concat(a.aapor_code, ' ') FILTER (WHERE a.aapor_code IS NOT NULL),"
        " count(a.id)"
        " FROM sample_case c JOIN cell v ON v.id = c.cell_id"
        " LEFT JOIN attempt a ON a.case_id = c.id"
        " WHERE c.wave_id = ? AND c.state != 'frame'"
        " GROUP BY c.id ORDER BY c.id",
        (wave_id,),
    )
    return [
        CaseCodes(CellKey(district, age_band, sex), tuple((codes or "").split()))
        for district, age_band, sex, state, codes, attempts in await cursor.fetchall()
        if not (state == "withdrawn" and attempts == 0)
    ]


async def cell_population(db: aiosqlite.Connection, wave_id: int) -> dict[CellKey, int]:
    """The population of each cell of the wave (the survey's margins as stored)."""
    cursor = await db.execute(
        "SELECT district, age_band, sex, population FROM cell WHERE wave_id = ? ORDER BY position",
        (wave_id,),
    )
    return {CellKey(d, a, s): int(p) for d, a, s, p in await cursor.fetchall()}


async def wave_ids(db: aiosqlite.Connection, survey_name: str) -> dict[int, int]:
    """The survey's stored waves: wave number -> wave id."""
    cursor = await db.execute(
        "SELECT w.number, w.id FROM wave w JOIN survey s ON s.id = w.survey_id"
        " WHERE s.name = ? ORDER BY w.number",
        (survey_name,),
    )
    return {int(number): int(wave_id) for number, wave_id in await cursor.fetchall()}
