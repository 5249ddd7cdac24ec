"""Checking one answer against its question, and a whole interview against its routing. Pure.

Answers are stored as JSON values, by kind: single ``"A"``; multiple ``["A", "C"]``; grid
``{"a": 3, "b": 1}`` (every row rated); text ``"..."``; yes/no
``{"answer": "yes", "because": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from questionnaire.errors import AnswerError
from questionnaire.model import YES_NO, Item, Kind, Questionnaire
from questionnaire.routing import kept_answers, unanswered

MAX_TEXT = 2000
"""Characters in an open answer."""


def check_answer(item: Item, value: Any) -> Any:
    """``value`` as stored for ``item``, or an ``AnswerError`` saying what does not fit."""
    match item.kind:
        case Kind.READ:
            raise AnswerError(item.id, "a text to read out takes no answer")
        case Kind.SINGLE:
            return _code(item, value)
        case Kind.MULTIPLE:
            return _codes(item, value)
        case Kind.GRID:
            return _ratings(item, value)
        case Kind.TEXT:
            return _text(item.id, value, required=True)
        case Kind.YES_NO_BECAUSE:
            return _yes_no(item, value)
    raise AnswerError(item.id, f"unknown kind {item.kind}")  # pragma: no cover


def check_interview(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """A finished interview's answers, checked: every question on its path answered, each
    answer fitting its question; answers left off the path are dropped."""
    for question_id in answers:
        try:
            questionnaire.item(question_id)
        except KeyError:
            raise AnswerError(question_id, "no such question in the questionnaire") from None
    checked = {
        question_id: check_answer(questionnaire.item(question_id), value)
        for question_id, value in kept_answers(questionnaire, answers).items()
    }
    missing = unanswered(questionnaire, checked)
    if missing:
        raise AnswerError(missing[0].id, "not answered (the interview is not complete)")
    return checked


def _code(item: Item, value: Any) -> str:
    if not isinstance(value, str) or item.option(value) is None:
        codes = ", ".join(o.code for o in item.options)
        raise AnswerError(item.id, f"{value!r} is not one of its options ({codes})")
    return value


def _codes(item: Item, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise AnswerError(item.id, "choose at least one option (a list of codes)")
    codes = [_code(item, code) for code in value]
    if len(set(codes)) != len(codes):
        raise AnswerError(item.id, "an option is chosen twice")
    if item.max_choices and len(codes) > item.max_choices:
        raise AnswerError(item.id, f"at most {item.max_choices} options, not {len(codes)}")
    order = [o.code for o in item.options]
    return sorted(codes, key=order.index)


def _ratings(item: Item, value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise AnswerError(item.id, "rate every row (a table of row -> rating)")
    rows = [o.code for o in item.options]
    extra = sorted(set(value) - set(rows))
    if extra:
        raise AnswerError(item.id, f"no row {extra[0]!r} (rows: {', '.join(rows)})")
    low, high = item.scale
    ratings = {}
    for row in rows:
        rating = value.get(row)
        if rating is None:
            raise AnswerError(f"{item.id}.{row}", "not rated")
        if not isinstance(rating, int) or isinstance(rating, bool) or not low <= rating <= high:
            raise AnswerError(
                f"{item.id}.{row}", f"{rating!r} is not a rating from {low} to {high}"
            )
        ratings[row] = rating
    return ratings


def _text(question: str, value: Any, required: bool) -> str:
    if not isinstance(value, str):
        raise AnswerError(question, f"must be text, not {type(value).__name__}")
    text = value.strip()
    if required and not text:
        raise AnswerError(question, "the answer is empty")
    if len(text) > MAX_TEXT:
        raise AnswerError(question, f"longer than {MAX_TEXT} characters")
    return text


def _yes_no(item: Item, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or value.get("answer") not in YES_NO:
        raise AnswerError(item.id, 'answer yes or no: {"answer": "yes", "because": "..."}')
    extra = sorted(set(value) - {"answer", "because"})
    if extra:
        raise AnswerError(item.id, f"unknown field {extra[0]!r}")
    because = _text(f"{item.id}.because", value.get("because", ""), required=False)
    return {"answer": str(value["answer"]), "because": because}
