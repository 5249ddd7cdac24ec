"""Seats: free seats in waiting order, taking, wrap-up, pause, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.seats import (
    SeatBoard,
    SeatError,
    SeatState,
    end_call,
    hand_back,
    line_back,
    line_lost,
    log_in,
    log_out,
    pause,
    ready,
    take,
    wrapped_up,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def board(*seats: str) -> SeatBoard:
    b = SeatBoard()
    for i, seat in enumerate(seats):
        b = log_in(b, seat, at(i))
    return b


def test_the_longest_waiting_free_seat_is_taken_first() -> None:
    """Seats are handed out in order of how long they have waited."""
    b = board("7001", "7002", "7003")
    b, first = take(b, "c1", at(10))
    b, second = take(b, "c2", at(10))
    assert ("7001", "7002") == (
        first.seat_id if first else None,
        second.seat_id if second else None,
    )
    assert ["7003"] == [s.seat_id for s in b.free()]


def test_no_free_seat_gives_none() -> None:
    """With every seat busy or paused, nothing is taken."""
    b = pause(board("7001"), "7001", "break", at(5))
    assert (b, None) == take(b, "c1", at(6))


def test_call_cycle_wrap_up_then_free_at_the_back_of_the_line() -> None:
    """After a call the seat wraps up, then waits behind seats free longer."""
    b, seat = take(board("7001", "7002"), "c1", at(10))
    assert seat is not None
    b = end_call(b, "7001", at(60))
    assert 1 == b.count(SeatState.WRAP_UP)
    b = ready(b, "7001", at(70))
    assert ["7002", "7001"] == [s.seat_id for s in b.free()]


def test_hand_back_frees_a_seat_whose_callee_never_came() -> None:
    """A seat taken for a callee who hung up first is free again at once."""
    b, _ = take(board("7001"), "c1", at(10))
    assert ["7001"] == [s.seat_id for s in hand_back(b, "7001", at(11)).free()]


def test_a_seat_without_its_line_takes_no_callee_until_the_line_is_back() -> None:
    """A lost line takes a free seat out of the rotation; on a call, the seat finishes its
    call and wrap-up but is not free after; once the line is back it waits from then."""
    b = line_lost(board("7001", "7002"), "7001")
    assert ["7002"] == [s.seat_id for s in b.free()]
    b, seat = take(b, "c1", at(10))
    assert seat is not None
    assert "7002" == seat.seat_id
    b = line_lost(b, "7002")
    b = ready(end_call(b, "7002", at(20)), "7002", at(25))
    assert (None, []) == (take(b, "c2", at(26))[1], b.free())
    b = line_back(b, "7002", at(30))
    b = line_back(b, "7001", at(40))
    assert [("7002", at(30)), ("7001", at(40))] == [(s.seat_id, s.since) for s in b.free()]


def test_a_pause_asked_on_a_call_starts_after_the_wrap_up() -> None:
    """Pause after this call: the seat finishes its call and wrap-up, then pauses; the pacer
    no longer counts on it meanwhile. Made ready in wrap-up, the operator cancels it."""
    b, _ = take(board("7001", "7002"), "c1", at(10))
    b = pause(b, "7001", "break", at(20))
    assert SeatState.ON_CALL is b.seats["7001"].state
    assert not b.seats["7001"].coming_back
    b = wrapped_up(end_call(b, "7001", at(30)), "7001", at(40))
    assert (SeatState.PAUSED, "break") == (b.seats["7001"].state, b.seats["7001"].pause_reason)
    b, _ = take(b, "c2", at(50))
    b = pause(end_call(b, "7002", at(60)), "7002", "break", at(61))
    b = wrapped_up(ready(b, "7002", at(62)), "7002", at(70))
    assert ["7002"] == [s.seat_id for s in b.free()]


def test_errors_name_the_seat() -> None:
    """Unknown seats, double log-in, ending a call there is not: errors naming the seat."""
    b = board("7001")
    with pytest.raises(SeatError, match="seat 7009 is not logged in"):
        ready(b, "7009", at(1))
    with pytest.raises(SeatError, match="seat 7001 is already logged in"):
        log_in(b, "7001", at(1))
    with pytest.raises(SeatError, match="seat 7001 has no call to end"):
        end_call(b, "7001", at(1))
    b, _ = take(b, "c1", at(2))
    with pytest.raises(SeatError, match="seat 7001 is on a call"):
        log_out(b, "7001")
