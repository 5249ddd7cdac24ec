"""Releases: drawing the next replicate of numbers for the dialer, stored for audit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import aiosqlite
import numpy as np
import numpy.typing as npt

from dialer.store.db import transaction, utc_now
from dialer.store.quotas import CellCounts, eligible_sql, load_counts
from dialer.store.waves import WaveRef
from sampling.draw import draw_stratified
from sampling.release import release_sizes
from sampling.survey import Survey
from sampling.yields import estimate_yield

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """What a release will draw per cell, and why."""

    counts: CellCounts
    need: Ints
    expected_yield: Floats
    requested: Ints
    held_back: Ints
    """Numbers released and unfinished that may not be called for a long while: not counted
    toward the need (``counts.released`` less these are the ones that count)."""


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """A stored release: its id, seed, and what was drawn per cell."""

    release_id: int
    seed: int
    plan: ReleasePlan
    drawn: Ints
    case_ids: Ints

    @property
    def size(self) -> int:
        return int(self.drawn.sum())


def plan_release(counts: CellCounts, survey: Survey, held_back: Ints | None = None) -> ReleasePlan:
    """Size the next release from the cells' counts (pure).

    ``held_back`` counts, per cell, released numbers that may not be called for a long
    while (after an abandoned call, or a callback days ahead): they do not count toward the
    need, so a cell whose last numbers wait is topped up instead of waiting with them.
    """
    quota = counts.quota(survey.quotas.allowance)
    expected = estimate_yield(counts.frame_completes, counts.finished, survey.yield_prior)
    held = np.zeros_like(counts.released) if held_back is None else held_back
    requested = release_sizes(quota, expected, counts.released - held, counts.available)
    return ReleasePlan(counts, quota.need, expected, requested, held)


async def candidates(
    db: aiosqlite.Connection, survey: Survey, wave: WaveRef
) -> tuple[Ints, npt.NDArray[np.int32]]:
    """Case ids and cell positions a release may draw, grouped by cell, ascending case id."""
    where, args = eligible_sql(survey, wave)
    sql = (
        f"SELECT c.id, k.position FROM sample_case c JOIN cell k ON k.id = c.cell_id WHERE {where}"
        " ORDER BY k.position, c.id"
    )
    async with db.execute(sql, args) as cursor:
        rows = list(await cursor.fetchall())
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    # int32: a grid of comuni x age bands x sexes passes int16's 32,767 cells
    cells = np.fromiter((r[1] for r in rows), dtype=np.int32, count=len(rows))
    return ids, cells


def fresh_seed() -> int:
    """A random seed for a release no seed was chosen for (stored with it, so it can be
    drawn again)."""
    return secrets.randbits(63)


async def make_release(
    db: aiosqlite.Connection,
    survey: Survey,
    wave: WaveRef,
    seed: int,
    now: str | None = None,
    held_back: Ints | None = None,
) -> ReleaseResult:
    """Plan, draw and store the next release in one transaction (``held_back``: as
    ``plan_release``).

    The same frame, store state and seed give the same release.
    """
    async with transaction(db):
        plan = plan_release(await load_counts(db, survey, wave), survey, held_back)
        ids, cells = await candidates(db, survey, wave)
        draw = draw_stratified(
            cells, np.ones(len(ids), dtype=bool), plan.requested, np.random.default_rng(seed)
        )
        chosen = ids[draw.positions]
        cursor = await db.execute(
            "INSERT INTO release (wave_id, seed, created_at, size) VALUES (?, ?, ?, ?)",
            (wave.wave_id, str(seed), now or utc_now(), len(chosen)),
        )
        release_id = int(cursor.lastrowid or 0)
        await db.executemany(
            "INSERT INTO release_cell (release_id, cell_id, need, expected_yield, outstanding,"
            " held_back, available, requested, drawn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    release_id,
                    cell_id,
                    int(plan.need[i]),
                    float(plan.expected_yield[i]),
                    int(plan.counts.released[i]),
                    int(plan.held_back[i]),
                    int(plan.counts.available[i]),
                    int(plan.requested[i]),
                    int(draw.per_cell[i]),
                )
                for i, cell_id in enumerate(wave.cell_ids)
            ],
        )
        await db.executemany(
            "UPDATE sample_case SET state = 'released', release_id = ? WHERE id = ?"
            " AND state = 'frame'",
            [(release_id, int(case_id)) for case_id in chosen],
        )
    return ReleaseResult(release_id, seed, plan, draw.per_cell, chosen)


async def released_case_ids(db: aiosqlite.Connection, release_id: int) -> list[int]:
    """The cases a stored release drew, for audit."""
    async with db.execute(
        "SELECT id FROM sample_case WHERE release_id = ? ORDER BY id", (release_id,)
    ) as cursor:
        return [int(r[0]) async for r in cursor]
