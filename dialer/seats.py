"""Operator seats: who is logged in and which seats are free, in order of waiting time (pure).

A seat is an operator's open line (a conference of its own). The dialer always knows which
seats are free; a free seat is taken for an answered callee and goes to wrap-up after the call.
A seat whose line was lost (the operator hung up, Asterisk restarted) stays logged in but is
never free until its line is back: a callee sent there would find nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum


class SeatState(Enum):
    FREE = "free"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Seat:
    seat_id: str
    state: SeatState
    since: datetime
    call_id: str | None = None
    pause_reason: str | None = None
    line: bool = True  # the operator's line is open
    pause_after: str | None = None  # the operator asked for a pause after this call

    @property
    def coming_back(self) -> bool:
        """Whether the seat will be free after its call and wrap-up (no pause asked)."""
        return self.line and self.pause_after is None

    @property
    def free(self) -> bool:
        return self.state is SeatState.FREE and self.line


@dataclass(frozen=True, slots=True)
class SeatBoard:
    """Every logged-in seat; seats not on the board are logged out."""

    seats: dict[str, Seat] = field(default_factory=dict)

    def free(self) -> list[Seat]:
        """Free seats, longest-waiting first (fair to operators, and the oldest line first)."""
        waiting = [s for s in self.seats.values() if s.free]
        return sorted(waiting, key=lambda s: (s.since, s.seat_id))

    def count(self, state: SeatState) -> int:
        return sum(1 for s in self.seats.values() if s.state is state)


class SeatError(Exception):
    """A seat operation that does not apply (unknown seat, wrong state); names the seat."""


def log_in(board: SeatBoard, seat_id: str, now: datetime) -> SeatBoard:
    if seat_id in board.seats:
        raise SeatError(f"seat {seat_id} is already logged in")
    return _put(board, Seat(seat_id, SeatState.FREE, now))


def log_out(board: SeatBoard, seat_id: str) -> SeatBoard:
    seat = _get(board, seat_id)
    if seat.state is SeatState.ON_CALL:
        raise SeatError(f"seat {seat_id} is on a call; log out after it")
    return SeatBoard({k: v for k, v in board.seats.items() if k != seat_id})


def take(board: SeatBoard, call_id: str, now: datetime) -> tuple[SeatBoard, Seat | None]:
    """Give the longest-waiting free seat to ``call_id``; None when no seat is free."""
    free = board.free()
    if not free:
        return board, None
    seat = replace(free[0], state=SeatState.ON_CALL, since=now, call_id=call_id)
    return _put(board, seat), seat


def hand_back(board: SeatBoard, seat_id: str, now: datetime) -> SeatBoard:
    """A taken seat whose callee never arrived (e.g. hung up first) is free again."""
    seat = _get(board, seat_id)
    return _put(board, replace(seat, state=SeatState.FREE, since=now, call_id=None))


def end_call(board: SeatBoard, seat_id: str, now: datetime) -> SeatBoard:
    """The call on the seat ended: the operator wraps up."""
    seat = _get(board, seat_id)
    if seat.state is not SeatState.ON_CALL:
        raise SeatError(f"seat {seat_id} has no call to end (it is {seat.state.value})")
    return _put(board, replace(seat, state=SeatState.WRAP_UP, since=now))


def ready(board: SeatBoard, seat_id: str, now: datetime) -> SeatBoard:
    """The operator is ready (pause over, or wrap-up cut short): the seat is free."""
    seat = _get(board, seat_id)
    if seat.state is SeatState.ON_CALL:
        raise SeatError(f"seat {seat_id} is on a call")
    return _put(
        board,
        replace(
            seat, state=SeatState.FREE, since=now, call_id=None, pause_reason=None,
            pause_after=None,
        ),
    )  # fmt: skip


def wrapped_up(board: SeatBoard, seat_id: str, now: datetime) -> SeatBoard:
    """Wrap-up over: the seat is free, or paused if its operator asked for it meanwhile."""
    seat = _get(board, seat_id)
    if seat.state is not SeatState.WRAP_UP:
        return board  # paused or made ready meanwhile
    if seat.pause_after is not None:
        paused = replace(
            seat, state=SeatState.PAUSED, since=now, call_id=None,
            pause_reason=seat.pause_after, pause_after=None,
        )  # fmt: skip
        return _put(board, paused)
    return ready(board, seat_id, now)


def pause(board: SeatBoard, seat_id: str, reason: str, now: datetime) -> SeatBoard:
    """A pause now; on a call or in wrap-up, once the wrap-up is over ("pause after this
    call"), and the pacer stops counting on the seat at once."""
    seat = _get(board, seat_id)
    if seat.state in (SeatState.ON_CALL, SeatState.WRAP_UP):
        return _put(board, replace(seat, pause_after=reason))
    return _put(board, replace(seat, state=SeatState.PAUSED, since=now, pause_reason=reason))


def line_lost(board: SeatBoard, seat_id: str) -> SeatBoard:
    """The operator's line is gone: the seat takes no callee until it is back."""
    return _put(board, replace(_get(board, seat_id), line=False))


def line_back(board: SeatBoard, seat_id: str, now: datetime) -> SeatBoard:
    """The operator's line is open again; a free seat waits from now."""
    seat = _get(board, seat_id)
    since = now if seat.state is SeatState.FREE and not seat.line else seat.since
    return _put(board, replace(seat, line=True, since=since))


def _get(board: SeatBoard, seat_id: str) -> Seat:
    try:
        return board.seats[seat_id]
    except KeyError:
        raise SeatError(f"seat {seat_id} is not logged in") from None


def _put(board: SeatBoard, seat: Seat) -> SeatBoard:
    return SeatBoard({**board.seats, seat.seat_id: seat})
