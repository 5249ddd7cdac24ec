"""AMI events as frozen dataclasses: raw dicts stop here and never reach the core."""

from __future__ import annotations

from collections.abc import Mapping
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


AmiEvent = ChannelHangup | ConferenceJoin | DialplanEvent | LinkState


_HEADERS = frozenset(
    {"event", "userevent", "uniqueid", "linkedid", "channel", "privilege", "content"}
)
"""A UserEvent's own headers (and panoramisk's ``content``, a message's body); the rest are
the fields our dialplan set."""


def parse_event(message: Mapping[str, Any]) -> AmiEvent | None:
    """The typed event for a raw AMI message, or None for events the dialer does not use
    (e.g. ``Newchannel`` and ``Newstate``: the call model does not follow channel states)."""
    get = _getter(message)
    name = get("Event")
    if name == "Hangup":
        return ChannelHangup(get("Uniqueid"), get("Linkedid"), get("Channel"), _int(get("Cause")))
    if name in ("ConfbridgeJoin", "ConfbridgeLeave"):
        return ConferenceJoin(
            get("Uniqueid"), get("Channel"), get("Conference"), name == "ConfbridgeJoin"
        )
    if name == "UserEvent":
        store = _store(message)
        pairs = store.values() if store is not None else message.items()
        fields = {k: str(v) for k, v in pairs if k.lower() not in _HEADERS}
        return DialplanEvent(
            get("Uniqueid"), get("Linkedid"), get("Channel"), get("UserEvent"), fields
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


def _getter(message: Mapping[str, Any]) -> Any:
    store = _store(message)
    if store is not None:

        def get(key: str) -> str:
            value = store.get(key.lower(), (key, ""))[1]
            return str(value[0] if isinstance(value, list) and value else value)

        return get

    def get_any(key: str) -> str:
        value = message.get(key, "")
        return str(value[0] if isinstance(value, list) and value else value)

    return get_any


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
