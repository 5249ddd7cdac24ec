"""The call state machine: ``transition(call, event) -> (call, effects)``, pure.

States: dialling -> ringing -> answered (waiting for a seat, at most 2 s) -> connected -> ended.
Every call ends with one ``Outcome``. Events come from AMI (parsed at the edge) and from the
originate's result; effects tell the imperative shell what to do (bring the callee to a seat,
free the seat, store the attempt).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from dialer.disposition import Outcome


class CallState(Enum):
    DIALLING = "dialling"
    RINGING = "ringing"
    ANSWERED = "answered"
    CONNECTED = "connected"
    ENDED = "ended"


# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ringing:
    at: datetime


@dataclass(frozen=True, slots=True)
class Answered:
    """The callee answered and waits in the hold context; ``channel`` is our side's line."""

    at: datetime
    channel: str


@dataclass(frozen=True, slots=True)
class SeatJoined:
    """The callee joined a seat's conference."""

    at: datetime
    seat: str


@dataclass(frozen=True, slots=True)
class Abandoned:
    """The dialplan gave up waiting for a seat and played the abandon message; ``reason``:
    the dialplan's (``timeout``, or ``no-operator`` when the seat's conference was empty)."""

    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MachineDetected:
    at: datetime


@dataclass(frozen=True, slots=True)
class OriginateEnded:
    """The originate's result: Asterisk's reason (4 answered, 5 busy, 3 no answer, 8 congested)."""

    at: datetime
    reason: int


@dataclass(frozen=True, slots=True)
class HungUp:
    at: datetime
    cause: int


CallEvent = Ringing | Answered | SeatJoined | Abandoned | MachineDetected | OriginateEnded | HungUp


# --- effects ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectToSeat:
    """Bring the answered callee (our side's ``channel``) to a free seat, now."""

    call_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class ReleaseSeat:
    """The call on ``seat`` is over: the seat goes to wrap-up."""

    call_id: str
    seat: str


@dataclass(frozen=True, slots=True)
class RecordAttempt:
    """The call ended: store the attempt with its outcome."""

    call_id: str
    outcome: Outcome


Effect = ConnectToSeat | ReleaseSeat | RecordAttempt

REASON_OUTCOME = {5: Outcome.BUSY, 3: Outcome.NO_ANSWER, 8: Outcome.CONGESTION, 1: Outcome.FAILED}
"""OriginateResponse reasons of calls that were never answered."""


class Call(NamedTuple):
    """One call as the dialer knows it. A named tuple, immutable like the events: its
    ``_replace`` costs a third of ``dataclasses.replace`` on the event path
    (bench/metrics_cost.py)."""

    call_id: str
    case_id: int
    state: CallState
    started: datetime
    answered: datetime | None = None
    connected: datetime | None = None
    ended: datetime | None = None
    channel: str | None = None
    seat: str | None = None
    outcome: Outcome | None = None


def new_call(call_id: str, case_id: int, now: datetime) -> Call:
    return Call(call_id, case_id, CallState.DIALLING, now)


def transition(call: Call, event: CallEvent) -> tuple[Call, list[Effect]]:
    """The next state of ``call`` after ``event``, and what the shell must do about it.

    Events that do not apply in the current state (duplicates, late arrivals after the end)
    change nothing, so replaying a channel snapshot after a reconnect is harmless.
    """
    if call.state is CallState.ENDED:
        return call, []
    match event:
        case Ringing() if call.state is CallState.DIALLING:
            return call._replace(state=CallState.RINGING), []
        case Answered(at=at, channel=channel) if call.state in (
            CallState.DIALLING,
            CallState.RINGING,
        ):
            answered = call._replace(state=CallState.ANSWERED, answered=at, channel=channel)
            return answered, [ConnectToSeat(call.call_id, channel)]
        case SeatJoined(at=at, seat=seat) if call.state is CallState.ANSWERED:
            return call._replace(state=CallState.CONNECTED, connected=at, seat=seat), []
        case Abandoned(at=at) if call.state is CallState.ANSWERED:
            return _end(call, at, Outcome.ABANDONED)
        case MachineDetected(at=at) if call.state in (
            CallState.DIALLING,
            CallState.RINGING,
            CallState.ANSWERED,
        ):  # with detection on, a machine is reported instead of an answer
            return _end(call, at, Outcome.MACHINE)
        case OriginateEnded(at=at, reason=reason) if reason != 4:
            return _end(call, at, REASON_OUTCOME.get(reason, Outcome.FAILED))
        case HungUp(at=at) if call.state in (CallState.ANSWERED, CallState.CONNECTED):
            # Before an answer, the originate's own result (with Asterisk's reason) ends the
            # call: our half of the channel hangs up first, and busy would read as no answer.
            return _end(call, at, _outcome_at_hangup(call))
    return call, []


def _outcome_at_hangup(call: Call) -> Outcome:
    if call.state is CallState.CONNECTED:
        return Outcome.CONNECTED
    return Outcome.ABANDONED  # answered and gone before any operator took it


def _end(call: Call, at: datetime, outcome: Outcome) -> tuple[Call, list[Effect]]:
    ended = call._replace(state=CallState.ENDED, ended=at, outcome=outcome)
    effects: list[Effect] = []
    if call.seat is not None:
        effects.append(ReleaseSeat(call.call_id, call.seat))
    effects.append(RecordAttempt(call.call_id, outcome))
    return ended, effects
