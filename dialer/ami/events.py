"""AMI events as frozen dataclasses: raw dicts stop here and never reach the core."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


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


DIALPLAN_FIELDS = ("CallId", "Seat", "Cause", "Reason")
"""The fields our dialplan's UserEvents set (asterisk_conf/extensions.conf); the rest of a
UserEvent's headers describe its channel."""


def parse_event(message: Mapping[str, Any]) -> AmiEvent | None:
    """The typed event for a raw AMI message, or None for events the dialer does not use."""
    get = _getter(message)
    name = get("event")
    if name == "Hangup":
        return ChannelHangup(get("uniqueid"), get("linkedid"), get("channel"), _int(get("cause")))
    if name == "Newstate":
        if get("channelstatedesc") == "Ringing":
            return ChannelRinging(get("uniqueid"), get("channel"))
        return None
    if name in ("ConfbridgeJoin", "ConfbridgeLeave"):
        return ConferenceJoin(
            get("uniqueid"), get("channel"), get("conference"), name == "ConfbridgeJoin"
        )
    if name == "UserEvent":
        fields = {key: value for key in DIALPLAN_FIELDS if (value := get(key.lower()))}
        return DialplanEvent(
            get("uniqueid"), get("linkedid"), get("channel"), get("userevent"), fields
        )
    if name in ("DialerReconnected", "FullyBooted"):
        return LinkState(up=True)
    if name == "DialerDisconnected":
        return LinkState(up=False)
    return None


def _store(message: Mapping[str, Any]) -> dict[str, tuple[str, Any]] | None:
    """panoramisk 1.4's Message keeps (key, value) pairs under lowercased keys in ``_store``:
    reading it directly halves the cost of an event's header lookups (bench/metrics_cost.py).
    None for our own messages (plain dicts) and any other mapping."""
    store = getattr(message, "_store", None)
    return store if isinstance(store, dict) else None


def _getter(message: Mapping[str, Any]) -> Callable[[str], str]:
    """A header's value as text by its lowercased name (the first value of a repeated one)."""
    store = _store(message)
    if store is None:  # our own messages and tests' dicts: rare, so copied with lowered keys
        store = {key.lower(): (key, value) for key, value in message.items()}
    missing = ("", "")

    def get(key: str) -> str:
        value = store.get(key, missing)[1]
        if value.__class__ is str:
            return value
        return str(value[0] if isinstance(value, list) and value else value)

    return get


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
