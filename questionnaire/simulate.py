"""A simulated respondent: random answers along the routed path, for the demo and tests. Pure:
the random source is passed in."""

from __future__ import annotations

import random
from typing import Any

from questionnaire.model import YES_NO, Item, Kind, Questionnaire
from questionnaire.routing import next_item

_SAYINGS = (
    "più trasporti pubblici la sera",
    "più verde in città",
    "meno traffico in centro",
    "più lavoro per i giovani",
    "non saprei",
)


def simulate_answers(questionnaire: Questionnaire, rng: random.Random) -> dict[str, Any]:
    """One respondent's answers, each question on the path answered as it comes."""
    answers: dict[str, Any] = {}
    item = next_item(questionnaire, answers)
    while item is not None:
        if item.asks:
            answers[item.id] = _answer(item, rng)
        item = next_item(questionnaire, answers, item.id)
    return answers


def _answer(item: Item, rng: random.Random) -> Any:
    codes = [option.code for option in item.options]
    match item.kind:
        case Kind.SINGLE:
            return rng.choice(codes)
        case Kind.MULTIPLE:
            most = item.max_choices or len(codes)
            chosen = rng.sample(codes, rng.randint(1, most))
            return [code for code in codes if code in chosen]
        case Kind.GRID:
            low, high = item.scale
            return {code: rng.randint(low, high) for code in codes}
        case Kind.TEXT:
            return rng.choice(_SAYINGS)
        case Kind.YES_NO_BECAUSE:
            return {"answer": rng.choice(YES_NO), "because": rng.choice(_SAYINGS)}
    raise ValueError(f"{item.id}: a {item.kind.value} item takes no answer")
