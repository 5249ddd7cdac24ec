"""The call state machine: ``transition(call, event) -> (call, effects)``, pure.

States: dialling -> ringing -> answered (waiting for a seat, at most 2 s) -> connected -> ended.
Every call ends with one ``Outcome``. Events come from AMI (parsed at the edge) and from the
originate's result; effects tell the imperative shell what to do (bring the callee to a seat,
free the seat, store the attempt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

from dialer.disposition import Outcome


class CallState(Enum):
    DIALLING = "dialling"
    RINGING = "ringing"
    ANSWERED = "answered"
    CONNECTED = "connected"
    ENDED = "ended"


# --- events -----------------------------------------------------------------------------
# Events and effects are plain slotted dataclasses, not frozen ones: nothing changes them
# after they are made, and a frozen one cost twice as much to make (seven a call, on the
# event path: bench/metrics_cost.py).


@dataclass(slots=True)
class Ringing:
    at: datetime


@dataclass(slots=True)
class Answered:
    """The callee answered and waits in the hold context; ``channel`` is our side's line."""

    at: datetime
    channel: str


@dataclass(slots=True)
class SeatJoined:
    """The callee joined a seat's conference."""

    at: datetime
    seat: str


@dataclass(slots=True)
class Abandoned:
    """The dialplan gave up waiting for a seat and played the abandon message; ``reason``:
    the dialplan's (``timeout``, or ``no-operator`` when the seat's conference was empty)."""

    at: datetime
    reason: str = ""


@dataclass(slots=True)
class MachineDetected:
    at: datetime


@dataclass(slots=True)
class OriginateEnded:
    """The originate's result: Asterisk's reason (4 answered, 5 busy, 3 no answer, 8 congested),
    or ``UNKNOWN_END`` when our side has none."""

    at: datetime
    reason: int


@dataclass(slots=True)
class HungUp:
    at: datetime
    cause: int


CallEvent = Ringing | Answered | SeatJoined | Abandoned | MachineDetected | OriginateEnded | HungUp


# --- effects ----------------------------------------------------------------------------


@dataclass(slots=True)
class ConnectToSeat:
    """Bring the answered callee (our side's ``channel``) to a free seat, now."""

    call_id: str
    channel: str


@dataclass(slots=True)
class ReleaseSeat:
    """The call on ``seat`` is over: the seat goes to wrap-up."""

    call_id: str
    seat: str


@dataclass(slots=True)
class RecordAttempt:
    """The call ended: store the attempt with its outcome."""

    call_id: str
    outcome: Outcome


Effect = ConnectToSeat | ReleaseSeat | RecordAttempt
Effects = tuple[Effect, ...]
NO_EFFECTS: Effects = ()
"""What most events call for: one shared empty tuple, not a new list each time."""

UNKNOWN_END = -1
"""Not Asterisk's: our side has no result for the originate (its action timed out, went with
the AMI link, or was never sent or was refused: the call may not have been placed). Once a
resync has found nothing more of the call (``CampaignRunner._end_unknown``), it is coded and
retried as congestion (a technical failure, AAPOR 3.16), and no sample of callees' answers."""

REASON_OUTCOME = {
    5: Outcome.BUSY,
    3: Outcome.NO_ANSWER,
    8: Outcome.CONGESTION,
    1: Outcome.FAILED,
    UNKNOWN_END: Outcome.CONGESTION,
}
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
    """When a person answered: the dialplan's Answered, or the originate's success (which
    may come first, or alone when the callee hangs up at once)."""
    connected: datetime | None = None
    ended: datetime | None = None
    """When the call ended; before its end, when its channel hung up before the originate's
    result came (that result says how it ended)."""
    channel: str | None = None
    seat: str | None = None
    outcome: Outcome | None = None


def new_call(call_id: str, case_id: int, now: datetime) -> Call:
    return Call(call_id, case_id, CallState.DIALLING, now)


# The states as module constants: an enum member's lookup through its class costs ten
# times a global's, and every event asks a few (bench/metrics_cost.py).
_DIALLING, _RINGING, _ANSWERED = CallState.DIALLING, CallState.RINGING, CallState.ANSWERED
_CONNECTED, _ENDED = CallState.CONNECTED, CallState.ENDED


def transition(call: Call, event: CallEvent) -> tuple[Call, Effects]:
    """The next state of ``call`` after ``event``, and what the shell must do about it.

    Events that do not apply in the current state (duplicates, late arrivals after the end)
    change nothing, so replaying a channel snapshot after a reconnect is harmless.
    """
    if call.state is _ENDED:
        return call, NO_EFFECTS
    return _STEPS[event.__class__](call, event)


# One step per kind of event, looked up by its class: an event costs one dictionary lookup,
# not a walk down a ``match`` (bench/metrics_cost.py). Calls are rebuilt whole
# (``_new(Call, ...)``): a third of the cost of ``_replace``.

_new = tuple.__new__
BEFORE_ANSWER = (_DIALLING, _RINGING)
"""The states of a call no person has answered yet."""
BEFORE_SEAT = (*BEFORE_ANSWER, _ANSWERED)
"""The states of a call no seat has taken yet (its interview not reserved in its cell)."""


def _ringing(call: Call, _event: Ringing) -> tuple[Call, Effects]:
    if call.state is not _DIALLING:
        return call, NO_EFFECTS
    call_id, case_id, _, started, answered, connected, ended, channel, seat, outcome = call
    state = _RINGING
    return _new(
        Call, (call_id, case_id, state, started, answered, connected, ended, channel, seat, outcome)
    ), NO_EFFECTS


def _answered(call: Call, event: Answered) -> tuple[Call, Effects]:
    if call.state not in BEFORE_ANSWER:
        return call, NO_EFFECTS
    call_id, case_id, _, started, _, connected, ended, _, seat, outcome = call
    at, channel, state = event.at, event.channel, _ANSWERED
    answered = _new(
        Call, (call_id, case_id, state, started, at, connected, ended, channel, seat, outcome)
    )
    return answered, (ConnectToSeat(call_id, channel),)


def _seat_joined(call: Call, event: SeatJoined) -> tuple[Call, Effects]:
    if call.state is not _ANSWERED:
        return call, NO_EFFECTS
    call_id, case_id, _, started, answered, _, ended, channel, _, outcome = call
    at, seat, state = event.at, event.seat, _CONNECTED
    return _new(
        Call, (call_id, case_id, state, started, answered, at, ended, channel, seat, outcome)
    ), NO_EFFECTS


def _abandoned(call: Call, event: Abandoned) -> tuple[Call, Effects]:
    if call.state is _ANSWERED:
        return _end(call, event.at, Outcome.ABANDONED)
    if call.state in BEFORE_ANSWER:  # its Answered was lost (an AMI outage): answered too
        answered = call if call.answered is not None else call._replace(answered=event.at)
        return _end(answered, event.at, Outcome.ABANDONED)
    return call, NO_EFFECTS


def _machine(call: Call, event: MachineDetected) -> tuple[Call, Effects]:
    # with detection on, a machine is reported instead of an answer
    if call.state not in BEFORE_SEAT:
        return call, NO_EFFECTS
    return _end(call, event.at, Outcome.MACHINE)


def _originate_ended(call: Call, event: OriginateEnded) -> tuple[Call, Effects]:
    # The originate's result speaks only for a call not yet heard answered: a late or
    # invented failure (an action lost in a reconnect times out) must not end an interview.
    if call.state not in BEFORE_ANSWER or call.answered is not None:
        return call, NO_EFFECTS
    if event.reason == 4:  # Asterisk answered: the dialplan's Answered follows, or a hangup
        if call.ended is not None:  # its hangup came first (the same read): gone unannounced
            answered = call._replace(answered=min(event.at, call.ended))
            return _end(answered, call.ended, Outcome.ABANDONED)
        return call._replace(answered=event.at), NO_EFFECTS  # rare enough for _replace
    ended = call.ended if event.reason == UNKNOWN_END and call.ended else event.at  # heard hangup
    return _end(call, ended, REASON_OUTCOME.get(event.reason, Outcome.FAILED))


def _hung_up(call: Call, event: HungUp) -> tuple[Call, Effects]:
    # Before an answer, the originate's own result (with Asterisk's reason) ends the call:
    # our half of the channel hangs up first, and busy would read as no answer.
    if call.state is _CONNECTED:
        return _end(call, event.at, Outcome.CONNECTED)
    if call.state is _ANSWERED or call.answered is not None:
        # answered and gone before any operator took it; or answered (the originate said
        # so) and gone before the dialplan announced it: a person may have heard nothing,
        # and counting it abandoned keeps the cap safe
        return _end(call, event.at, Outcome.ABANDONED)
    if call.ended is None:  # the originate's result decides; the hangup's time is kept
        return call._replace(ended=event.at), NO_EFFECTS
    return call, NO_EFFECTS


_STEPS: dict[type, Callable[[Call, Any], tuple[Call, Effects]]] = {
    Ringing: _ringing,
    Answered: _answered,
    SeatJoined: _seat_joined,
    Abandoned: _abandoned,
    MachineDetected: _machine,
    OriginateEnded: _originate_ended,
    HungUp: _hung_up,
}


def _end(call: Call, at: datetime, outcome: Outcome) -> tuple[Call, Effects]:
    call_id, case_id, _, started, answered, connected, _, channel, seat, _ = call
    state = _ENDED
    ended = _new(
        Call, (call_id, case_id, state, started, answered, connected, at, channel, seat, outcome)
    )
    if seat is not None:
        return ended, (ReleaseSeat(call_id, seat), RecordAttempt(call_id, outcome))
    return ended, (RecordAttempt(call_id, outcome),)
