"""What the dialer missed while its AMI link was down, call by call (pure).

Asterisk goes on without the dialer: callees answer, and with nobody to put them through the
dialplan abandons each one (and records it: ``ABANDONED_FAMILY``); calls end. After a
reconnect, the abandons recorded and a snapshot of the live channels (CoreShowChannels) say
what became of each call the dialer still holds open, as the events it would have heard.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dialer.call.state import (
    BEFORE_ANSWER,
    Abandoned,
    Answered,
    Call,
    CallEvent,
    CallState,
    HungUp,
    MachineDetected,
    SeatJoined,
)

ABANDONED_FAMILY = "cati-abandoned"
"""Asterisk's database family where the dialplan records each abandon, by call id:
``<epoch seconds>:<reason>`` (asterisk_conf/extensions.conf, context ``abandon``), and each
machine verdict of answering-machine detection, as ``<epoch seconds>:machine``."""
MACHINE_REASON = "machine"
"""The reason a machine verdict's record gives."""

RECORD_KEEP = timedelta(days=7)
"""How long an abandon record nobody has cleared is kept: a campaign clears its own calls'
once read, and any older than this (a finished or deleted campaign's). A campaign down for
longer finds its calls' records gone, and its restart codes those attempts congestion."""
CALL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f-]+")
"""A call id as the dialer makes them (a UUID): what ``dialer-forget`` takes as an extension."""

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
            ended: CallEvent = (
                MachineDetected(at) if reason == MACHINE_REASON else Abandoned(at, reason)
            )
            missed.append((call_id, ended))
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
    """What a live channel says of its call: answered (waiting for a seat: the hold's Wait,
    detection done and a person found), or in a seat. A hold channel at any other step
    (setting its timer, detection listening or just done, a machine being reported) tells
    nothing yet: its own event follows."""
    application = str(channel.get("Application", ""))
    if call.state in BEFORE_ANSWER:
        up = str(channel.get("ChannelState", "")) == CHANNEL_UP
        if up and str(channel.get("Context", "")) == HOLD_CONTEXT and application == "Wait":
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
    reason = record.partition(":")[2] or "timeout"
    written = _written(record)
    try:
        at = datetime.fromtimestamp(written, UTC)
    except (ValueError, OverflowError, OSError):  # unreadable, or past the calendar
        return now, reason
    if not started.replace(microsecond=0) <= at <= now:
        at = now
    return at, reason


def records_to_clear(
    records: Mapping[str, str], closed: Collection[str], now: datetime
) -> list[str]:
    """The abandon records a campaign clears once it has read them: its own calls' whose
    attempts are closed (an open one's is still to be read, by a restart if the process
    dies first), and any written over ``RECORD_KEEP`` ago; only of call ids."""
    stale = (now - RECORD_KEEP).timestamp()
    return [
        call_id
        for call_id, record in records.items()
        if CALL_ID.fullmatch(call_id) and (call_id in closed or _written(record) < stale)
    ]


def _written(record: str) -> float:
    """When an abandon record was written (epoch seconds); infinity when unreadable."""
    try:
        return float(int(record.partition(":")[0]))
    except (ValueError, OverflowError):
        return float("inf")


UNKNOWN_PATIENCE_S = 60.0
"""How long a call whose originate's result was lost may keep a live channel (detection
still deciding, a stuck channel) before a resync hangs it up and ends it as unknown."""


def settle_unknown(
    call: Call | None, live: bool, gone_before: bool, after_outage: bool, waited_s: float
) -> str:
    """What a resync does with a call whose originate's result was lost on our side:

    - ``"drop"``: answered or ended meanwhile (its events said so): nothing more to do;
    - ``"wait"``: its channel lives: its events will tell (up to ``UNKNOWN_PATIENCE_S``);
    - ``"hang_up"``: its channel has lived longer than that: hang it up, and end the call;
    - ``"gone"``: its channel is gone, but a resync with the link up may have been answered
      before events still queued (its answer, its machine): wait for the next one;
    - ``"end"``: end it as unknown: gone when the reconnect's resync looked (its events were
      lost with the link), or gone twice, or its hangup heard.
    """
    if call is None or call.answered is not None or call.state not in BEFORE_ANSWER:
        return "drop"
    if live:
        return "hang_up" if waited_s > UNKNOWN_PATIENCE_S else "wait"
    return "end" if after_outage or gone_before or call.ended is not None else "gone"
