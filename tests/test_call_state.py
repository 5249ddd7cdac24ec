"""The call state machine: each path to each outcome, and late or repeated events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.call.state import (
    UNKNOWN_END,
    Abandoned,
    Answered,
    Call,
    CallEvent,
    CallState,
    ConnectToSeat,
    Effect,
    HungUp,
    MachineDetected,
    OriginateEnded,
    RecordAttempt,
    ReleaseSeat,
    Ringing,
    SeatJoined,
    new_call,
    transition,
)
from dialer.disposition import Outcome

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(*events: CallEvent) -> tuple[Call, list[Effect]]:
    call = new_call("c1", 7, T0)
    effects: list[Effect] = []
    for event in events:
        call, more = transition(call, event)
        effects += more
    return call, effects


def test_answered_call_connected_to_a_seat_ends_connected_and_frees_the_seat() -> None:
    """Ringing, answer, seat, hang-up: one ConnectToSeat, then ReleaseSeat and the attempt."""
    call, effects = run(
        Ringing(at(1)),
        Answered(at(5), "Local/x;1"),
        SeatJoined(at(5.01), "7001"),
        HungUp(at(60), 16),
    )
    assert CallState.ENDED == call.state
    assert [
        ConnectToSeat("c1", "Local/x;1"),
        ReleaseSeat("c1", "7001"),
        RecordAttempt("c1", Outcome.CONNECTED),
    ] == effects


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (5, Outcome.BUSY),
        (3, Outcome.NO_ANSWER),
        (8, Outcome.CONGESTION),
        (0, Outcome.FAILED),
        (UNKNOWN_END, Outcome.CONGESTION),  # its result lost on our side: retried
    ],
)
def test_unanswered_originates_map_to_outcomes(reason: int, outcome: Outcome) -> None:
    """An originate that ends without an answer ends the call with the matching outcome."""
    _, effects = run(Ringing(at(1)), OriginateEnded(at(15), reason))
    assert [RecordAttempt("c1", outcome)] == effects


def test_abandoned_and_machine() -> None:
    """No seat within the limit is abandoned; a detected machine is a machine."""
    assert [RecordAttempt("c1", Outcome.ABANDONED)] == run(Answered(at(1), "ch"), Abandoned(at(3)))[
        1
    ][1:]
    assert [RecordAttempt("c1", Outcome.MACHINE)] == run(
        Answered(at(1), "ch"), MachineDetected(at(3))
    )[1][1:]


def test_machine_found_by_detection_was_never_a_person() -> None:
    """With detection on, the machine is reported instead of an answer: no seat is asked for."""
    call, effects = run(Ringing(at(1)), MachineDetected(at(4)), OriginateEnded(at(4.1), 4))
    assert [RecordAttempt("c1", Outcome.MACHINE)] == effects
    assert (CallState.ENDED, None) == (call.state, call.answered)


def test_hangup_before_answer_waits_for_the_originate_result() -> None:
    """Our half hangs up before OriginateResponse arrives: busy must still read as busy."""
    call, effects = run(Ringing(at(1)), HungUp(at(2), 17), OriginateEnded(at(2.01), 5))
    assert [RecordAttempt("c1", Outcome.BUSY)] == effects
    assert CallState.ENDED == call.state


def test_callee_hanging_up_while_waiting_for_a_seat_is_abandoned() -> None:
    """A callee who hangs up before any operator took the call counts as abandoned."""
    assert (
        RecordAttempt("c1", Outcome.ABANDONED)
        == run(Answered(at(1), "ch"), HungUp(at(2), 16))[1][-1]
    )


def test_a_callee_gone_before_the_dialplan_announced_the_answer_is_abandoned() -> None:
    """The originate says answered, then the hangup comes (in either order) without the
    dialplan's Answered (the callee hung up at once, or during AMD): the call ends, as
    abandoned, instead of waiting for ever."""
    for sequence, answered in (
        ((Ringing(at(1)), OriginateEnded(at(5), 4), HungUp(at(5.2), 16)), at(5)),
        ((Ringing(at(1)), HungUp(at(5.2), 16), OriginateEnded(at(5.21), 4)), at(5.2)),
    ):
        call, effects = run(*sequence)
        assert [RecordAttempt("c1", Outcome.ABANDONED)] == effects
        assert (answered, at(5.2)) == (call.answered, call.ended)


def test_an_abandon_whose_answer_was_lost_is_still_an_abandon() -> None:
    """The link was down when the callee answered: the dialplan's Abandoned is the first
    word of it. The call ends abandoned (counted against the cap, 72 h quiet), not later as
    the congestion its lost originate times out into."""
    call, effects = run(Ringing(at(1)), Abandoned(at(9)), OriginateEnded(at(40), UNKNOWN_END))
    assert [RecordAttempt("c1", Outcome.ABANDONED)] == effects
    assert (at(9), at(9)) == (call.answered, call.ended)


def test_a_late_originate_failure_never_ends_an_answered_call() -> None:
    """An originate lost in a reconnect times out (its end unknown, read as congestion)
    after its callee was answered: the call, or the interview, goes on."""
    late = OriginateEnded(at(40), UNKNOWN_END)
    call, effects = run(Answered(at(2), "ch"), SeatJoined(at(3), "7001"), late)
    assert (CallState.CONNECTED, [ConnectToSeat("c1", "ch")]) == (call.state, effects)
    call, effects = run(Ringing(at(1)), OriginateEnded(at(5), 4), late)
    assert (CallState.RINGING, []) == (call.state, effects)


def test_a_call_whose_end_is_unknown_ends_when_its_hangup_was_heard() -> None:
    """Its originate's result lost, a call ends as congestion at its hangup's time when
    the hangup was heard (not some 10 s later, when the originate timed out), else then."""
    call, _ = run(Ringing(at(1)), HungUp(at(4), 16), OriginateEnded(at(18), UNKNOWN_END))
    assert (Outcome.CONGESTION, at(4)) == (call.outcome, call.ended)
    call, _ = run(Ringing(at(1)), OriginateEnded(at(18), UNKNOWN_END))
    assert (Outcome.CONGESTION, at(18)) == (call.outcome, call.ended)


events = st.lists(
    st.sampled_from(
        [
            Ringing(at(1)),
            Answered(at(2), "ch"),
            SeatJoined(at(3), "7001"),
            Abandoned(at(4)),
            MachineDetected(at(4)),
            OriginateEnded(at(5), 4),
            OriginateEnded(at(5), 5),
            OriginateEnded(at(5), UNKNOWN_END),
            HungUp(at(6), 16),
        ]
    ),
    max_size=12,
)


@given(events)
def test_any_event_sequence_records_at_most_one_attempt_and_never_leaks_a_seat(
    sequence: list[CallEvent],
) -> None:
    """Any order or repetition of events: one attempt at most, and a taken seat is freed."""
    call, effects = run(*sequence)
    records = [e for e in effects if isinstance(e, RecordAttempt)]
    assert len(records) <= 1
    assert (call.state is CallState.ENDED) == (len(records) == 1)
    joined = call.seat is not None
    released = any(isinstance(e, ReleaseSeat) for e in effects)
    if joined and call.state is CallState.ENDED:
        assert released
    assert len([e for e in effects if isinstance(e, ConnectToSeat)]) <= 1
