"""An operator's disposition of a connected call: checked, and what it does to the case (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dialer.disposition import Disposition
from dialer.schedule.window import CallingWindow
from questionnaire.answers import check_interview
from questionnaire.errors import AnswerError
from questionnaire.model import Questionnaire
from sampling.cells import CellGrid, CellKey

CASE_RESULT: dict[Disposition, str] = {
    Disposition.COMPLETE: "complete",
    Disposition.PARTIAL: "other",
    Disposition.REFUSAL: "refusal",
    Disposition.BREAK_OFF: "refusal",
    Disposition.INELIGIBLE: "ineligible",
    Disposition.BUSINESS: "ineligible",
    Disposition.FAX: "ineligible",
    Disposition.WRONG_NUMBER: "ineligible",
    Disposition.OVER_QUOTA: "over_quota",
    Disposition.LANGUAGE: "other",
    Disposition.UNABLE: "other",
}
"""The case's final result for each final disposition; a callback leaves the case open."""


MAX_NOTE = 500
"""Characters in an operator's note."""

MAX_CALLBACK_AHEAD = timedelta(days=90)
"""The furthest a callback may be set: a wave's fieldwork lasts weeks, not years (and a date
near the calendar's end overflowed when taken to the window's time zone)."""


@dataclass(frozen=True, slots=True)
class OperatorDisposition:
    """What the operator posts at the end of a call."""

    disposition: Disposition
    district: str | None = None
    age_band: str | None = None
    sex: str | None = None
    callback_at: datetime | None = None
    answers: Mapping[str, Any] | None = None
    """A complete's answers (question id -> answer), when the survey has a questionnaire."""
    note: str | None = None
    """The operator's note, shown at the next call (e.g. who to ask for at a callback)."""


@dataclass(frozen=True, slots=True)
class CheckedDisposition:
    disposition: Disposition
    verified: CellKey | None
    callback_at: datetime | None
    answers: dict[str, Any] | None = None
    note: str | None = None

    @property
    def case_result(self) -> str | None:
        """The case's final result; None when the case is to be called again."""
        return CASE_RESULT.get(self.disposition)


class DispositionError(Exception):
    """A disposition that cannot be taken; names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check(
    entry: OperatorDisposition,
    grid: CellGrid,
    now: datetime,
    questionnaire: Questionnaire | None = None,
    window: CallingWindow | None = None,
) -> CheckedDisposition:
    """A complete needs the respondent's verified district, age band and sex, each one of the
    survey's, and (with a questionnaire) its answers along the routed path; a callback needs
    a time zone-aware moment in the future, inside the calling ``window``."""
    verified = None
    answers = None
    if entry.disposition is Disposition.COMPLETE:
        verified = CellKey(
            _one_of(entry.district, grid.districts, "district"),
            _one_of(entry.age_band, tuple(b.label for b in grid.age_bands), "age_band"),
            _one_of(entry.sex, grid.sexes, "sex"),
        )
        if questionnaire is not None:
            answers = _answers(entry.answers, questionnaire)
    if entry.answers and answers is None:  # none given: the console's empty answers too
        if entry.disposition is Disposition.COMPLETE:
            raise DispositionError("answers", "the survey has no questionnaire to answer")
        raise DispositionError(
            "answers", f"only a complete interview stores answers, not a {entry.disposition.value}"
        )
    callback = entry.callback_at
    if entry.disposition is Disposition.CALLBACK:
        _check_callback(callback, now, window)
    elif callback is not None:
        raise DispositionError(
            "callback_at", f"only a callback takes a time, not a {entry.disposition.value}"
        )
    note = (entry.note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise DispositionError("note", f"longer than {MAX_NOTE} characters")
    return CheckedDisposition(entry.disposition, verified, callback, answers, note)


def _answers(answers: Mapping[str, Any] | None, questionnaire: Questionnaire) -> dict[str, Any]:
    if answers is None:
        raise DispositionError("answers", "a complete needs the questionnaire's answers")
    try:
        return check_interview(questionnaire, answers)
    except AnswerError as exc:
        raise DispositionError(f"answers.{exc.question}", exc.problem) from None


def _check_callback(callback: datetime | None, now: datetime, window: CallingWindow | None) -> None:
    if callback is None:
        raise DispositionError("callback_at", "a callback needs the time agreed")
    if callback.tzinfo is None:
        raise DispositionError("callback_at", "give the time with its UTC offset")
    if callback <= now:
        raise DispositionError("callback_at", f"{callback.isoformat()} is in the past")
    if callback > now + MAX_CALLBACK_AHEAD:
        raise DispositionError(
            "callback_at",
            f"{callback.isoformat()} is more than {MAX_CALLBACK_AHEAD.days} days ahead",
        )
    if window is not None and not window.is_open(callback):
        opens = window.next_open(callback).astimezone(callback.tzinfo)
        raise DispositionError(
            "callback_at",
            f"{callback.isoformat()} is outside the calling window (it opens next at "
            f"{opens.isoformat()})",
        )


def _one_of(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value is None or not value.strip():
        raise DispositionError(field, "a complete needs the respondent's verified " + field)
    if value not in allowed:
        raise DispositionError(field, f"{value!r} is not one of {', '.join(allowed)}")
    return value
