"""Interviews' answers, stored apart from the number, the case and the call.

A response row holds a random id, the wave, the respondent's verified district, age band and
sex, the questionnaire's id and the answers: nothing leads back to the number. It is written
in the same transaction that finishes the case as complete (``cases.finish_case``), so an
interview counts in its quota cell exactly when its answers are stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

from sampling.cells import CellKey


@dataclass(frozen=True, slots=True)
class Answers:
    """A complete interview's answers, to be stored with its verified cell."""

    questionnaire: str
    answers: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Response:
    """One stored interview."""

    id: str
    cell: CellKey
    questionnaire: str
    answers: dict[str, Any]


async def record_response(
    db: aiosqlite.Connection, wave_id: int, cell: CellKey, answers: Answers
) -> None:
    """Store ``answers`` under a new random id. Runs inside the caller's transaction."""
    await db.execute(
        "INSERT INTO response (id, wave_id, district, age_band, sex, questionnaire, answers)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            str(uuid.uuid4()),
            wave_id,
            cell.district,
            cell.age_band,
            cell.sex,
            answers.questionnaire,
            json.dumps(dict(answers.answers), ensure_ascii=False, sort_keys=True),
        ),
    )


async def load_responses(db: aiosqlite.Connection, wave_id: int) -> list[Response]:
    """Every response of a wave, in id order (random: no order of interviewing)."""
    cursor = await db.execute(
        "SELECT id, district, age_band, sex, questionnaire, answers FROM response"
        " WHERE wave_id = ? ORDER BY id",
        (wave_id,),
    )
    return [
        Response(row[0], CellKey(row[1], row[2], row[3]), row[4], json.loads(row[5]))
        for row in await cursor.fetchall()
    ]
