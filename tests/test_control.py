"""The campaign's run state under the supervisor's commands, and operators' dispositions (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.control import Command, ControlError, RunState, apply, dials, settle
from dialer.campaign.dispositions import DispositionError, OperatorDisposition, check
from dialer.disposition import Disposition
from dialer.schedule.window import CallingWindow
from questionnaire.load import load_questionnaire
from sampling.cells import CellKey
from sampling.survey import Survey

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_start_pause_resume_stop() -> None:
    """The supervisor's day: start, pause for a briefing, resume, stop; only running dials."""
    state = RunState.READY
    seen = []
    for command in (Command.START, Command.PAUSE, Command.RESUME, Command.STOP):
        state = apply(state, command)
        seen.append((state, dials(state)))
    assert [
        (RunState.RUNNING, True),
        (RunState.PAUSED, False),
        (RunState.RUNNING, True),
        (RunState.STOPPING, False),
    ] == seen


@pytest.mark.parametrize(
    ("state", "command"),
    [
        (RunState.RUNNING, Command.START),
        (RunState.RUNNING, Command.RESUME),
        (RunState.READY, Command.PAUSE),
        (RunState.STOPPING, Command.STOP),
        (RunState.FINISHED, Command.START),
    ],
)
def test_a_command_that_does_not_apply_says_why(state: RunState, command: Command) -> None:
    with pytest.raises(ControlError, match=f"cannot {command.value} a campaign that is {state}"):
        apply(state, command)


def test_stopping_ends_with_the_last_call() -> None:
    assert RunState.STOPPING == settle(RunState.STOPPING, 2)
    assert RunState.STOPPED == settle(RunState.STOPPING, 0)
    assert RunState.PAUSED == settle(RunState.PAUSED, 0)


def test_complete_carries_the_verified_cell(survey: Survey) -> None:
    checked = check(
        OperatorDisposition(Disposition.COMPLETE, "South", "65+", "F"), survey.grid, NOW
    )
    assert CellKey("South", "65+", "F") == checked.verified
    assert "complete" == checked.case_result


@pytest.mark.parametrize(
    ("entry", "field", "problem"),
    [
        (OperatorDisposition(Disposition.COMPLETE, None, "65+", "F"), "district", "verified"),
        (OperatorDisposition(Disposition.COMPLETE, "East", "65+", "F"), "district", "'East'"),
        (OperatorDisposition(Disposition.COMPLETE, "North", "70+", "F"), "age_band", r"'70\+'"),
        (OperatorDisposition(Disposition.COMPLETE, "North", "65+", "X"), "sex", "'X'"),
        (OperatorDisposition(Disposition.CALLBACK), "callback_at", "time agreed"),
        (
            OperatorDisposition(Disposition.CALLBACK, callback_at=NOW - timedelta(minutes=1)),
            "callback_at",
            "in the past",
        ),
        (
            OperatorDisposition(Disposition.CALLBACK, callback_at=datetime(2026, 11, 24, 18)),
            "callback_at",
            "UTC offset",
        ),
        (
            OperatorDisposition(Disposition.REFUSAL, callback_at=NOW + timedelta(hours=1)),
            "callback_at",
            "only a callback",
        ),
    ],
)
def test_bad_disposition_names_the_field(
    survey: Survey, entry: OperatorDisposition, field: str, problem: str
) -> None:
    with pytest.raises(DispositionError, match=problem) as caught:
        check(entry, survey.grid, NOW)
    assert field == caught.value.field


def test_callback_leaves_the_case_open(survey: Survey) -> None:
    at = NOW + timedelta(days=1)
    checked = check(OperatorDisposition(Disposition.CALLBACK, callback_at=at), survey.grid, NOW)
    assert (None, at) == (checked.case_result, checked.callback_at)


@pytest.mark.parametrize(
    ("disposition", "result"),
    [
        (Disposition.REFUSAL, "refusal"),
        (Disposition.BREAK_OFF, "refusal"),
        (Disposition.WRONG_NUMBER, "ineligible"),
        (Disposition.OVER_QUOTA, "over_quota"),
        (Disposition.LANGUAGE, "other"),
    ],
)
def test_final_dispositions_close_the_case(
    survey: Survey, disposition: Disposition, result: str
) -> None:
    assert result == check(OperatorDisposition(disposition), survey.grid, NOW).case_result


LA_SPEZIA = load_questionnaire(
    Path(__file__).parent.parent / "sampling" / "data" / "la_spezia" / "questionnaire.toml"
)
ANSWERS: dict[str, Any] = {
    "q1": "A",
    "q3": {"a": 4, "b": 3, "c": 2, "d": 4, "e": 1},
    "q4": "A",
    "q5": ["B"],
    "q6": {"answer": "yes"},
    "q7": "più autobus",
    "q8": "no",
    "q8b": "A",
}


def _complete(answers: dict[str, Any] | None) -> OperatorDisposition:
    return OperatorDisposition(Disposition.COMPLETE, "South", "65+", "F", answers=answers)


def test_a_complete_carries_its_checked_answers(survey: Survey) -> None:
    """With a questionnaire, a complete's answers are checked along the routed path."""
    checked = check(_complete(ANSWERS), survey.grid, NOW, LA_SPEZIA)
    assert checked.answers is not None
    assert {"answer": "yes", "because": ""} == checked.answers["q6"]


@pytest.mark.parametrize(
    ("entry", "field", "problem"),
    [
        (_complete(None), "answers", "a complete needs the questionnaire's answers"),
        (_complete({**ANSWERS, "q3": {**ANSWERS["q3"], "a": 7}}), "answers.q3.a", "from 1 to 4"),
        (_complete({k: v for k, v in ANSWERS.items() if k != "q4"}), "answers.q4", "not answered"),
        (
            OperatorDisposition(Disposition.REFUSAL, answers=ANSWERS),
            "answers",
            "only a complete interview stores answers",
        ),
    ],
)
def test_bad_answers_name_the_question(
    survey: Survey, entry: OperatorDisposition, field: str, problem: str
) -> None:
    """An answer out of range or missing is refused, naming the question."""
    with pytest.raises(DispositionError, match=problem) as caught:
        check(entry, survey.grid, NOW, LA_SPEZIA)
    assert field == caught.value.field


def test_a_complete_without_a_questionnaire_takes_no_answers(survey: Survey) -> None:
    """A survey with no questionnaire: the console's empty answers go with a complete (it was
    refused, and no complete could be recorded), and answers given are refused, saying why."""
    assert check(_complete({}), survey.grid, NOW).answers is None
    with pytest.raises(DispositionError, match="no questionnaire") as caught:
        check(_complete({"q1": "A"}), survey.grid, NOW)
    assert "answers" == caught.value.field


def test_a_callback_outside_the_calling_window_is_refused(survey: Survey) -> None:
    """A callback agreed for Sunday, or at night, is refused with the window's next opening;
    Monday at 10:00 (Rome) is taken."""
    window = CallingWindow()
    rome = ZoneInfo("Europe/Rome")
    sunday = datetime(2026, 11, 29, 11, 0, tzinfo=rome)
    with pytest.raises(DispositionError, match="outside the calling window") as caught:
        check(OperatorDisposition(Disposition.CALLBACK, callback_at=sunday), survey.grid, NOW,
              window=window)  # fmt: skip
    assert "callback_at" == caught.value.field
    assert "2026-11-30T09:00:00+01:00" in caught.value.problem
    night = datetime(2026, 11, 24, 22, 30, tzinfo=rome)
    with pytest.raises(DispositionError, match="outside the calling window"):
        check(OperatorDisposition(Disposition.CALLBACK, callback_at=night), survey.grid, NOW,
              window=window)  # fmt: skip
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=rome)
    entry = OperatorDisposition(Disposition.CALLBACK, callback_at=monday)
    assert monday == check(entry, survey.grid, NOW, window=window).callback_at


@pytest.mark.parametrize(
    "at",
    [
        datetime(9999, 12, 31, 23, 30, tzinfo=UTC),  # Rome's time of it is in year 10000
        NOW + timedelta(days=91),
    ],
)
def test_a_callback_months_ahead_is_refused(survey: Survey, at: datetime) -> None:
    entry = OperatorDisposition(Disposition.CALLBACK, callback_at=at)
    with pytest.raises(DispositionError, match="more than 90 days ahead") as caught:
        check(entry, survey.grid, NOW, window=CallingWindow())
    assert "callback_at" == caught.value.field


def test_a_note_is_trimmed_and_bounded(survey: Survey) -> None:
    """The operator's note is kept trimmed; an overlong one is refused, naming the field."""
    at = NOW + timedelta(days=1)
    entry = OperatorDisposition(Disposition.CALLBACK, callback_at=at, note="  ask for Anna ")
    assert "ask for Anna" == check(entry, survey.grid, NOW).note
    with pytest.raises(DispositionError, match="longer than 500 characters") as caught:
        check(OperatorDisposition(Disposition.REFUSAL, note="x" * 501), survey.grid, NOW)
    assert "note" == caught.value.field
