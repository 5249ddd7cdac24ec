"""A wave's results from the store: the rows ``results.summary`` needs, gathered."""

from __future__ import annotations

import aiosqlite

from dialer.store.db import StoreError
from dialer.store.outcomes import case_codes, cell_population, wave_ids
from dialer.store.responses import load_responses
from questionnaire.model import Questionnaire
from results.estimates import Estimate, Respondent
from results.summary import WaveResults, summarise


async def wave_results(
    db: aiosqlite.Connection, survey: str, wave: int, questionnaire: Questionnaire
) -> WaveResults:
    """Rates, weights and estimates of ``wave``, with the previous wave's estimates when it
    has responses to the same questionnaire."""
    waves = await wave_ids(db, survey)
    if wave not in waves:
        known = ", ".join(map(str, waves)) or "none"
        raise StoreError(f"survey {survey!r} has no wave {wave} in this store (waves: {known})")
    previous: list[Estimate] = []
    earlier = [number for number in waves if number < wave]
    if earlier:
        before = await _summary(db, survey, earlier[-1], waves[earlier[-1]], questionnaire, [])
        previous = list(before.estimates)
    return await _summary(db, survey, wave, waves[wave], questionnaire, previous)


async def _summary(
    db: aiosqlite.Connection,
    survey: str,
    wave: int,
    wave_id: int,
    questionnaire: Questionnaire,
    previous: list[Estimate],
) -> WaveResults:
    cases = [(c.cell, c.codes) for c in await case_codes(db, wave_id)]
    respondents = [
        Respondent(r.cell.district, r.cell.age_band, r.cell.sex, r.answers)
        for r in await load_responses(db, wave_id)
        if r.questionnaire == questionnaire.id
    ]
    population = await cell_population(db, wave_id)
    return summarise(survey, wave, questionnaire, cases, respondents, population, previous)
