"""The campaign's run state under the supervisor's commands, and operators' dispositions (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.campaign.control import Command, ControlError, RunState, apply, dials, settle
from dialer.campaign.dispositions import DispositionError, OperatorDisposition, check
from dialer.disposition import Disposition
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
