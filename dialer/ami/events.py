"""AMI events as typed values: raw messages stop here and never reach the core.

The events of a call the dialer placed (its Uniqueid is the call's id) are read straight into
the call model's own events (``call_event_of``): that is most of the stream, and one object
per event instead of two. Everything else (the link, seats' lines) becomes an ``AmiEvent``
(``parse_event``).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialer.call.state import (
    Abandoned,
    Answered,
    CallEvent,
    HungUp,
    MachineDetected,
    OriginateEnded,
    Ringing,
    SeatJoined,
)


@dataclass(frozen=True, slots=True)
class ChannelHangup:
    """A channel hung up, with its Q.850 cause."""

    uniqueid: str
    linkedid: str
    channel: str
    cause: int


@dataclass(frozen=True, slots=True)
class ChannelRinging:
    """Our side of a call out hears the callee's phone ring (Newstate, Ringing)."""

    uniqueid: str
    channel: str


@dataclass(frozen=True, slots=True)
class ConferenceJoin:
    """A channel joined (or left) a conference: a seat's open line."""

    uniqueid: str
    channel: str
    conference: str
    joined: bool


@dataclass(frozen=True, slots=True)
class DialplanEvent:
    """A ``UserEvent`` our dialplan raises (e.g. Answered, Machine, Abandoned, SeatReady)."""

    uniqueid: str
    linkedid: str
    channel: str
    name: str
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class LinkState:
    """The dialer's own AMI link went down or came back (a reconnect): time to resync."""

    up: bool


AmiEvent = ChannelHangup | ChannelRinging | ConferenceJoin | DialplanEvent | LinkState


DIALPLAN_FIELDS = ("CallId", "Seat", "Cause", "Reason", "Phone")
"""The fields our dialplan's UserEvents set (asterisk_conf/extensions.conf); the rest of a
UserEvent's headers describe its channel."""


def parse_event(message: Mapping[str, Any]) -> AmiEvent | None:
    """The typed event for a raw AMI message, or None for events the dialer does not use."""
    headers = _headers(message)
    name = _text(headers, "event")
    if name == "Hangup":
        return ChannelHangup(
            _text(headers, "uniqueid"),
            _text(headers, "linkedid"),
            _text(headers, "channel"),
            _int(_text(headers, "cause")),
        )
    if name == "Newstate":
        if _text(headers, "channelstatedesc") == "Ringing":
            return ChannelRinging(_text(headers, "uniqueid"), _text(headers, "channel"))
        return None
    if name in ("ConfbridgeJoin", "ConfbridgeLeave"):
        return ConferenceJoin(
            _text(headers, "uniqueid"),
            _text(headers, "channel"),
            _text(headers, "conference"),
            name == "ConfbridgeJoin",
        )
    if name == "UserEvent":
        fields = {key: value for key in DIALPLAN_FIELDS if (value := _text(headers, key.lower()))}
        return DialplanEvent(
            _text(headers, "uniqueid"),
            _text(headers, "linkedid"),
            _text(headers, "channel"),
            _text(headers, "userevent"),
            fields,
        )
    if name in ("DialerReconnected", "FullyBooted"):
        return LinkState(up=True)
    if name == "DialerDisconnected":
        return LinkState(up=False)
    return None


FAR_LEG = "-far"
"""The unique id of a call's far half (its Local channel's ``;2``) is the call's id and this
(the originate's OtherChannelId); its events are the call's too, and say nothing more."""


def call_event_of(
    message: Mapping[str, Any], clock: Callable[[], datetime], calls: Container[str]
) -> tuple[str, CallEvent | None] | None:
    """For an AMI message about one of ``calls`` (its Uniqueid is the call's id): the id
    and what the message means to the call at ``clock()``, asked only when it means
    something (four of a call's events do; reading the clock for each cost a tenth of the
    dialer's share of the event path: bench/metrics_cost.py): our side ringing, the dialplan's
    Answered, Abandoned or Machine, the callee joining a seat's conference, the hangup, an
    originate's result that reached no waiting action; None
    for the rest of a call's events). None for any other message, which ``parse_event``
    reads: most of the stream is the calls', and read once."""
    headers = _headers(message)
    call_id = headers.get("uniqueid", _MISSING)[1]  # _text, inline: every event asks
    if call_id.__class__ is not str:
        call_id = _text(headers, "uniqueid")
    if call_id not in calls:
        if call_id.endswith(FAR_LEG) and call_id[: -len(FAR_LEG)] in calls:
            return call_id[: -len(FAR_LEG)], None  # the callee's half: our half tells all
        return None
    name = headers.get("event", _MISSING)[1]  # inline too
    if name.__class__ is not str:
        name = _text(headers, "event")
    event: CallEvent | None = None
    if name == "Hangup":
        event = HungUp(clock(), _int(_text(headers, "cause")))
    elif name == "UserEvent":
        kind = _text(headers, "userevent")
        if kind == "Answered":
            event = Answered(clock(), _text(headers, "channel"))
        elif kind == "Abandoned":
            event = Abandoned(clock(), _text(headers, "reason"))
        elif kind == "Machine":
            event = MachineDetected(clock())
    elif name == "Newstate":
        if _text(headers, "channelstatedesc") == "Ringing":
            event = Ringing(clock())
    elif name == "ConfbridgeJoin":
        event = SeatJoined(clock(), _text(headers, "conference").removeprefix("seat-"))
    elif name == "OriginateResponse":  # its action was lost in a reconnect: read it here
        event = OriginateEnded(clock(), _int(_text(headers, "reason")))
    return call_id, event


_MISSING = ("", "")


def _headers(message: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """(key, value) pairs by lowercased key. panoramisk 1.4's Message keeps exactly that in
    ``_store``: reading it directly halves the cost of an event's header lookups
    (bench/metrics_cost.py). Our own messages (plain dicts) are rare, and copied."""
    store = getattr(message, "_store", None)
    if isinstance(store, dict):
        return store
    return {key.lower(): (key, value) for key, value in message.items()}


def _text(headers: dict[str, tuple[str, Any]], key: str) -> str:
    """A header's value as text by its lowercased name (the first value of a repeated one)."""
    value = headers.get(key, _MISSING)[1]
    if value.__class__ is str:
        return value
    return str(value[0] if isinstance(value, list) and value else value)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
