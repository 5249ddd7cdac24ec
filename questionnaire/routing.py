"""Skip logic: which items an interview goes through, given the answers so far. Pure.

An item is on the path when its condition holds of the answers to the questions before it
that are themselves on the path; an answer left off the path (the operator went back and
changed an earlier answer) no longer counts and is dropped from the interview.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from questionnaire.condition import holds
from questionnaire.model import Item, Questionnaire


def path(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> tuple[Item, ...]:
    """The items shown, in order, for ``answers`` (question id -> answer)."""
    shown: list[Item] = []
    kept: dict[str, Any] = {}
    for item in questionnaire.items:
        if item.when is None or holds(item.when, kept):
            shown.append(item)
            if item.id in answers:
                kept[item.id] = answers[item.id]
    return tuple(shown)


def kept_answers(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """``answers`` without those to questions off the path."""
    return {
        item.id: answers[item.id]
        for item in path(questionnaire, answers)
        if item.asks and item.id in answers
    }


def next_item(
    questionnaire: Questionnaire, answers: Mapping[str, Any], after: str | None = None
) -> Item | None:
    """The item to show after item ``after`` (the first item when None); None at the end."""
    shown = path(questionnaire, answers)
    if after is None:
        return shown[0] if shown else None
    ids = [item.id for item in shown]
    if after not in ids:
        raise KeyError(after)
    position = ids.index(after) + 1
    return shown[position] if position < len(shown) else None


def unanswered(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> tuple[Item, ...]:
    """Questions on the path still without an answer, in order."""
    return tuple(
        item for item in path(questionnaire, answers) if item.asks and item.id not in answers
    )
