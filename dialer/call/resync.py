"""What the dialer missed while its AMI link was down, call by call (pure).

Asterisk goes on without the dialer: callees answer, and with nobody to put them through the
dialplan abandons each one (and records it: ``ABANDONED_FAMILY``); calls end. After a
reconnect, the abandons recorded and a snapshot of the live channels (CoreShowChannels) say
what became of each call the dialer still holds open, as the events it would have heard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from dialer.call.state import (
    BEFORE_ANSWER,
    Abandoned,
    Answered,
    Call,
    CallEvent,
    CallState,
    HungUp,
    SeatJoined,
)

ABANDONED_FAMILY = "cati-abandoned"
"""Asterisk's database family where the dialplan records each abandon, by call id:
``<epoch seconds>:<reason>`` (asterisk_conf/extensions.conf, context ``abandon``)."""

HOLD_CONTEXT = "dialer-hold"
"""Where an answered callee waits for a seat (after answering-machine detection, if on)."""
ABANDON_CONTEXT = "abandon"
"""Where an abandoned callee hears the message (its record written first)."""
CHANNEL_UP = "6"
"""CoreShowChannel's ``ChannelState`` of an answered channel (a ringing one: 5)."""
SEAT_PREFIX = "seat-"
"""A seat's conference is ``seat-<seat id>``."""


def missed_events(
    calls: Mapping[str, Call],
    channels: Iterable[Mapping[str, Any]],
    abandoned: Mapping[str, str],
    now: datetime,
) -> list[tuple[str, CallEvent]]:
    """The events each open call missed: its abandon, if the dialplan recorded one; else,
    from its channel, its answer (waiting in the hold context), its seat (in a seat's
    conference), or its end (answered, and its channel gone). A call not answered whose
    channel is gone ends through its originate's result."""
    live = {str(m.get("Uniqueid", "")): m for m in channels}
    missed: list[tuple[str, CallEvent]] = []
    for call_id, call in calls.items():
        if call.state is CallState.ENDED:
            continue
        record = abandoned.get(call_id)
        if record is not None and call.state is not CallState.CONNECTED:
            at, reason = read_abandon(record, call.started, now)
            missed.append((call_id, Abandoned(at, reason)))
            continue
        channel = live.get(call_id)
        if channel is None:
            if call.answered is not None:  # answered, now gone
                missed.append((call_id, HungUp(now, 0)))
            continue
        event = _seen_in(call, channel, now)
        if event is not None:
            missed.append((call_id, event))
    return missed


def _seen_in(call: Call, channel: Mapping[str, Any], now: datetime) -> CallEvent | None:
    """What a live channel says of its call: answered (waiting for a seat, detection done),
    or in a seat."""
    application = str(channel.get("Application", ""))
    if call.state in BEFORE_ANSWER:
        up = str(channel.get("ChannelState", "")) == CHANNEL_UP
        if up and str(channel.get("Context", "")) == HOLD_CONTEXT and application != "AMD":
            return Answered(now, str(channel.get("Channel", "")))
        return None
    if call.state is CallState.ANSWERED and application == "ConfBridge":
        conference = str(channel.get("ApplicationData", "")).split(",", 1)[0]
        if conference.startswith(SEAT_PREFIX):
            return SeatJoined(now, conference.removeprefix(SEAT_PREFIX))
    return None


def left_to_dialplan(channel: Mapping[str, Any]) -> bool:
    """Whether a channel no dialer owns is the dialplan's to end: a callee waiting for a seat
    (abandoned within the dialplan's 2 s, and recorded) or hearing the abandon message (to
    its end). Hung up, the first was a silent call nobody counted."""
    return str(channel.get("Context", "")) in (HOLD_CONTEXT, ABANDON_CONTEXT)


def read_abandon(record: str, started: datetime, now: datetime) -> tuple[datetime, str]:
    """An abandon's record as (when, reason); the time is ``now`` when the record's cannot be
    this call's (unreadable, before the call began, or after now: clocks apart)."""
    stamp, _, reason = record.partition(":")
    try:
        at = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError):
        return now, reason or "timeout"
    if not started.replace(microsecond=0) <= at <= now:
        at = now
    return at, reason or "timeout"
