"""Anonymous responses: answers stored apart from the number, the case and the call."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialer.call.state import CallState, new_call
from dialer.disposition import Disposition, Outcome
from dialer.frame_import import import_frame
from dialer.store.attempts import close_attempt, open_attempt, set_disposition
from dialer.store.cases import finish_case, start_interview
from dialer.store.db import connect
from dialer.store.releases import make_release
from dialer.store.responses import Answers, load_responses
from dialer.store.waves import ensure_wave
from questionnaire.load import load_questionnaire
from questionnaire.simulate import simulate_answers
from sampling.cells import CellKey
from sampling.margins import load_margins
from sampling.survey import Survey
from tests.conftest import SurveyFactory, landline, write_frame

QUESTIONNAIRE = load_questionnaire(
    Path(__file__).parent.parent / "sampling" / "data" / "la_spezia" / "questionnaire.toml"
)
CELLS = [(d, a, s) for d in ("North", "South") for a in (25, 45, 75) for s in "MF"]
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _interviewed(
    tmp_path: Path, survey: Survey, db_path: Path, seed: int = 7
) -> list[dict[str, Any]]:
    """A wave (the survey's) where every released case was dialled: two completes per cell,
    with answers and their attempts, the rest refusals. Returns the answers given, in
    interview order. Each wave has numbers of its own."""
    rows = [
        f"{landline(100 * n + k)},{d},{a},{s},"
        for n, (d, a, s) in enumerate(CELLS)
        for k in range(6)
    ]
    await import_frame(db_path, survey, write_frame(tmp_path / "f.csv", rows), [])
    rng = random.Random(7)
    given = []
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        release = await make_release(db, survey, wave, seed=1)
        done: dict[int, int] = {}
        for number, case_id in enumerate(sorted(int(i) for i in release.case_ids)):
            cursor = await db.execute(
                "SELECT cell_id, state FROM sample_case WHERE id = ?", (case_id,)
            )
            cell_id, state = await cursor.fetchone() or (0, "")
            if state != "released":
                continue  # withdrawn: its cell closed
            position = wave.cell_ids.index(cell_id)
            now = START + timedelta(minutes=3 * number)
            call_id = f"call-{survey.wave}-{number}"
            await open_attempt(db, case_id, call_id, now)
            call = new_call(call_id, case_id, now)._replace(
                state=CallState.ENDED, answered=now, connected=now, ended=now,
                outcome=Outcome.CONNECTED, seat="7001", channel=f"Local/x-{number};1",
            )  # fmt: skip
            await close_attempt(db, call)
            if done.get(position, 0) < 2 and await start_interview(db, survey, wave, case_id):
                await set_disposition(db, call_id, Disposition.COMPLETE)
                answers = simulate_answers(QUESTIONNAIRE, rng)
                cell = survey.grid.cells()[position]
                outcome = await finish_case(
                    db, survey, wave, case_id, "complete", cell,
                    answers=Answers(QUESTIONNAIRE.id, answers),
                )  # fmt: skip
                assert "complete" == outcome.result
                done[position] = done.get(position, 0) + 1
                given.append(answers)
            else:
                await set_disposition(db, call_id, Disposition.REFUSAL)
                await finish_case(db, survey, wave, case_id, "refusal")
    return given


@pytest.fixture
async def interviewed(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> list[dict[str, Any]]:
    return await _interviewed(tmp_path, make_survey(interviews=60), db_path)


async def test_a_complete_stores_its_answers_under_its_verified_cell(
    interviewed: list[dict[str, Any]], make_survey: SurveyFactory, db_path: Path
) -> None:
    """Each complete's answers are stored once, with the verified cell and nothing else."""
    async with connect(db_path) as db:
        responses = await load_responses(db, 1)
    assert 24 == len(interviewed) == len(responses)
    assert sorted(map(_key, interviewed)) == sorted(_key(r.answers) for r in responses)
    by_cell: dict[CellKey, int] = {}
    for response in responses:
        by_cell[response.cell] = by_cell.get(response.cell, 0) + 1
    assert {2} == set(by_cell.values())
    assert 12 == len(by_cell)


async def test_no_query_of_the_store_can_join_a_response_to_a_phone_number(
    interviewed: list[dict[str, Any]], db_path: Path
) -> None:
    """The response table shares no key, id, time or order with any other table: every
    equality join between one of its columns and any column of any other table matches
    nothing, except the wave and the cell labels, and a join on those leads only to all
    the completes of a cell, never to one number."""
    db = sqlite3.connect(db_path)
    tables = [
        name
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name != "response"
    ]
    response_columns = [row[1] for row in db.execute("PRAGMA table_info(response)")]
    assert ["id", "wave_id", "district", "age_band", "sex", "questionnaire", "answers"] == (
        response_columns
    )
    with pytest.raises(sqlite3.OperationalError, match="no such column: rowid"):
        db.execute("SELECT rowid FROM response")  # no insertion order either
    assert [("wave", "wave_id", "id")] == [
        (row[2], row[3], row[4]) for row in db.execute("PRAGMA foreign_key_list(response)")
    ]
    labels = {"district", "age_band", "sex"}
    joined: dict[str, set[str]] = {}
    for table in tables:
        for _, column, *_rest in db.execute(f"PRAGMA table_info({table})"):
            for mine in response_columns:
                (matches,) = db.execute(
                    f"SELECT count(*) FROM response r JOIN {table} t"
                    f" ON CAST(r.{mine} AS TEXT) = CAST(t.{column} AS TEXT)"
                ).fetchone()
                if matches:
                    joined.setdefault(mine, set()).add(f"{table}.{column}")
    # The id, the questionnaire and the answers match nothing anywhere. The wave id is one
    # value for every response of the wave (it matches any 1 in other tables: all responses
    # alike, so it singles none out); the labels lead to cells.
    assert {"wave_id", *labels} == set(joined)
    assert [(1,)] == db.execute("SELECT DISTINCT wave_id FROM response").fetchall()
    # The labels lead to cells; a cell's completes are as many as its responses (two here).
    per_cell = db.execute(
        "SELECT r.district, r.age_band, r.sex, count(DISTINCT r.id),"
        " (SELECT count(*) FROM sample_case c JOIN cell v ON v.id = c.verified_cell_id"
        "  WHERE v.district = r.district AND v.age_band = r.age_band AND v.sex = r.sex)"
        " FROM response r GROUP BY 1, 2, 3"
    ).fetchall()
    assert all(responses == completes == 2 for *_, responses, completes in per_cell)
    # No text of any answer is in another table, and no response id is.
    everything = "\n".join(
        str(value)
        for table in tables
        for row in db.execute(f"SELECT * FROM {table}")
        for value in row
    )
    for response_id, answers in db.execute("SELECT id, answers FROM response"):
        assert response_id not in everything
        for value in _texts(json.loads(answers)):
            if len(value) > 3:  # option codes (A, yes) are everywhere; free text is not
                assert value not in everything
    db.close()


async def test_an_over_quota_complete_stores_no_answers(
    tmp_path: Path, make_survey: SurveyFactory, db_path: Path
) -> None:
    """A complete that finds its verified cell full counts nowhere: its answers are not kept."""
    survey = make_survey(interviews=12)  # one per cell
    # The second respondent's frame cell was wrong: a young northern man after all.
    rows = [f"{landline(1)},North,25,M,", f"{landline(2)},South,70,F,"]
    await import_frame(db_path, survey, write_frame(tmp_path / "f.csv", rows), [])
    cell = CellKey("North", "18-34", "M")
    answers = Answers(QUESTIONNAIRE.id, simulate_answers(QUESTIONNAIRE, random.Random(1)))
    async with connect(db_path) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        ids = sorted(int(i) for i in (await make_release(db, survey, wave, seed=1)).case_ids)
        first = await finish_case(db, survey, wave, ids[0], "complete", cell, answers=answers)
        second = await finish_case(db, survey, wave, ids[1], "complete", cell, answers=answers)
        stored = await load_responses(db, wave.wave_id)
    assert ("complete", "over_quota") == (first.result, second.result)
    assert 1 == len(stored)


def _key(answers: dict[str, Any]) -> str:
    return json.dumps(answers, sort_keys=True)


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [value] if isinstance(value, str) else []
