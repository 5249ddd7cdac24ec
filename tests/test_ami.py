"""The AMI adapter against a real Asterisk 22: login, originate outcomes, the seat connect path."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import socket
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from panoramisk.message import Message

from dialer.ami import client as client_module
from dialer.ami.client import (
    FORGETTABLE,
    AmiClient,
    AmiSettings,
    OriginateResult,
    _Manager,
    _QuietLog,
)
from dialer.ami.errors import AmiConnectError, AmiError
from dialer.ami.events import (
    FAR_LEG,
    AmiEvent,
    ChannelRinging,
    ConferenceJoin,
    DialplanEvent,
    LinkState,
    call_event_of,
    parse_event,
)
from dialer.call.resync import ABANDONED_FAMILY
from dialer.call.state import (
    Abandoned,
    Answered,
    CallEvent,
    CallState,
    HungUp,
    MachineDetected,
    OriginateEnded,
    Ringing,
    SeatJoined,
    new_call,
    transition,
)
from dialer.campaign.runner import wait_for_operator
from dialer.disposition import Outcome, aapor_code
from dialer.testbed import asterisk_pid, start_testbed, stop_testbed
from tests.conftest import TEST_AMI_PORT


async def test_wrong_secret_is_refused_at_once(asterisk: AmiSettings) -> None:
    """A bad secret is an AmiConnectError naming the user, not an endless retry."""
    client = AmiClient(dataclasses.replace(asterisk, secret="not-the-secret"))
    with pytest.raises(AmiConnectError, match="refused user 'dialer'"):
        await client.connect()


async def test_unreachable_host_is_an_error(asterisk: AmiSettings) -> None:
    """Nothing listening on the port: an AmiConnectError saying where it tried."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    client = AmiClient(dataclasses.replace(asterisk, port=free))
    with pytest.raises(AmiConnectError, match=f"cannot reach Asterisk at 127.0.0.1:{free}"):
        await client.connect()


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [("answer", 4), ("busy", 5), ("noanswer", 3), ("congestion", 8)],
)
async def test_simulated_callee_outcomes(ami: AmiClient, outcome: str, reason: int) -> None:
    """Each simulated callee behaviour ends its originate with Asterisk's matching reason."""
    _, result = await _callee(ami, "390187123456", outcome, talk_s=1)
    assert reason == result.reason


@pytest.mark.parametrize(
    ("outcome", "recorded", "code"),
    [
        ("answer", None, None),
        ("busy", Outcome.BUSY, "3.12"),
        ("noanswer", Outcome.NO_ANSWER, "3.13"),
        ("congestion", Outcome.CONGESTION, "3.16"),
        ("failed", Outcome.FAILED, "4.31"),
    ],
)
@pytest.mark.parametrize("context", ["sim-pstn", "sim-trunk"])
async def test_callee_outcomes_reach_the_right_attempt_outcome_and_code(
    ami: AmiClient, context: str, outcome: str, recorded: Outcome | None, code: str | None
) -> None:
    """Through the simulated callee, and through the production path (``outbound``'s Dial
    and its ``dial-result`` mapping, with the carrier simulated): the originate's reason
    takes the call to the attempt outcome and AAPOR code the callee's behaviour means. An
    answer keeps the call going (its code comes from the operator)."""
    _, result = await _callee(ami, "390187123456", outcome, talk_s=1, context=context)
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    call, _ = transition(new_call("c", 1, start), OriginateEnded(start, result.reason))
    if recorded is None:
        assert 4 == result.reason
        assert call.outcome is None
        return
    assert recorded is call.outcome, f"reason {result.reason}"
    assert code == aapor_code(recorded)


async def _callee(
    ami: AmiClient,
    number: str,
    outcome: str = "answer",
    talk_s: int = 5,
    amd: bool = False,
    context: str = "sim-pstn",
) -> tuple[str, OriginateResult]:
    """Originate a simulated callee into the hold context, as the dialer does."""
    call_id = str(uuid.uuid4())
    result = await ami.originate(
        channel=f"Local/{number}@{context}",
        context="dialer-hold",
        exten="s",
        channel_id=call_id,
        other_channel_id=call_id + "-pstn",
        timeout_s=3,
        variables={
            "SIM_OUTCOME": outcome,
            "SIM_RING_S": "0",
            "SIM_TALK_S": str(talk_s),
            "DIALER_AMD": "1" if amd else "0",
        },
    )
    return call_id, result


@pytest.mark.parametrize(("outcome", "event"), [("machine", "Machine"), ("answer", "Answered")])
async def test_amd_tells_a_machine_from_a_person(ami: AmiClient, outcome: str, event: str) -> None:
    """With detection on, a long greeting is reported as a machine and a short hello as a
    person; neither is reported as the other. A machine verdict is also recorded like an
    abandon (time:machine), for a resync after an AMI outage."""
    call_id, result = await _callee(ami, "390187555666", outcome, talk_s=8, amd=True)
    assert 4 == result.reason
    other = "Answered" if event == "Machine" else "Machine"
    deadline = time.monotonic() + 8
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {event} within 8 s"
        got = parse_event(await asyncio.wait_for(ami.events.get(), left))
        if isinstance(got, DialplanEvent) and got.uniqueid == call_id:
            assert other != got.name
            if got.name == event:
                break
    if event == "Machine":
        record = (await ami.db_family(ABANDONED_FAMILY)).get(call_id, "")
        assert record.endswith(":machine"), record
        await ami.run_dialplan("dialer-forget", call_id)
    await ami.hangup("/^Local\\/390187555666@sim-pstn-/")


async def _next(ami: AmiClient, want: type, name: str | None = None, within: float = 5.0) -> object:
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {want.__name__} {name or ''} within {within} s")
        event = parse_event(await asyncio.wait_for(ami.events.get(), left))
        if isinstance(event, want) and (name is None or getattr(event, "name", None) == name):
            return event


async def _open_seat(ami: AmiClient, seat: str) -> None:
    """A simulated operator's line into the seat's conference, the operator in it."""
    opened = await ami.originate(
        channel=f"Local/{seat}@seat-sim",
        context="seat-keepalive",
        exten="s",
        channel_id=str(uuid.uuid4()),
        timeout_s=3,
    )
    assert 4 == opened.reason
    await wait_for_operator(ami, seat)


async def _hears_the_abandon_message(ami: AmiClient, channel: str) -> None:
    """The callee's line (our side, ``channel``) is playing the shipped abandon message."""
    channels = await ami.core_show_channels()
    playing = [m for m in channels if m.get("Channel") == channel]
    assert 1 == len(playing), channels
    assert "Playback" == playing[0].get("Application")
    assert "/sounds/cati-abandon" in str(playing[0].get("ApplicationData"))


async def test_answered_callee_is_redirected_into_a_waiting_seat(ami: AmiClient) -> None:
    """An operator waits in a seat conference; an answered callee is brought in with Redirect."""
    seat = "7001"
    await _open_seat(ami, seat)
    callee = asyncio.create_task(_callee(ami, "390187654321", talk_s=5))
    answered = await _next(ami, DialplanEvent, "Answered")
    assert isinstance(answered, DialplanEvent)
    call_id = answered.uniqueid
    await ami.redirect(answered.channel, "connect", seat)
    joined = await _next(ami, ConferenceJoin)
    while isinstance(joined, ConferenceJoin) and joined.uniqueid != call_id:
        joined = await _next(ami, ConferenceJoin)
    assert isinstance(joined, ConferenceJoin)
    assert f"seat-{seat}" == joined.conference
    placed_id, result = await callee
    assert (call_id, 4) == (placed_id, result.reason)
    assert answered.channel in await ami.confbridge_channels(f"seat-{seat}")


async def test_callee_with_no_seat_hears_the_abandon_message_within_2_s(ami: AmiClient) -> None:
    """Nobody redirects the answered callee: the dialplan abandons it after 2 s by itself,
    and the callee hears the shipped message (who called, a number to call back), not a
    stand-in: a second on, the callee's line is still playing sounds/cati-abandon."""
    callee = asyncio.create_task(_callee(ami, "390187111222", talk_s=10))
    answered = await _next(ami, DialplanEvent, "Answered")
    started = time.monotonic()
    abandoned = await _next(ami, DialplanEvent, "Abandoned")
    waited = time.monotonic() - started
    assert isinstance(answered, DialplanEvent)
    assert isinstance(abandoned, DialplanEvent)
    assert answered.uniqueid == abandoned.uniqueid
    assert "timeout" == abandoned.fields.get("Reason")
    assert 1.5 < waited < 2.8
    assert answered.uniqueid == (await callee)[0]
    await asyncio.sleep(1.0)
    await _hears_the_abandon_message(ami, abandoned.channel)


async def test_with_detection_the_2_s_count_from_the_end_of_the_greeting(ami: AmiClient) -> None:
    """Detection calls a person a person after 0.8 s of silence following their hello: that
    much of the 2 s from the greeting's end (Ofcom, FTC) has gone at the verdict, so the
    dialplan abandons a callee no seat takes 1.2 s after it, not 2 s (2.8 s after the
    hello ended). Timed on Asterisk's own event clock (timestampevents)."""
    call_id, result = await _callee(ami, "390187111224", talk_s=10, amd=True)
    assert 4 == result.reason
    stamps: dict[str, float] = {}
    deadline = time.monotonic() + 12
    while "Abandoned" not in stamps:
        left = deadline - time.monotonic()
        assert left > 0, f"no abandon within 12 s: {stamps}"
        message = await asyncio.wait_for(ami.events.get(), left)
        event = parse_event(message)
        if isinstance(event, DialplanEvent) and event.uniqueid == call_id:
            assert "Machine" != event.name
            stamps[event.name] = float(message["Timestamp"])
            if event.name == "Answered":
                assert "1.2" == message["HoldS"]
    assert 1.0 < stamps["Abandoned"] - stamps["Answered"] < 1.6
    await ami.run_dialplan("dialer-forget", call_id)


async def test_one_channel_clears_many_records_and_nothing_not_shaped_as_a_call_id(
    ami: AmiClient,
) -> None:
    """dialer-forget's batch takes the call ids in IDS: their abandons' records go, another
    call's stays; entries that are no call id (empty, malformed) do not stop the ones after
    them."""
    await ami.run_dialplan("dialer-forget", "abandoned")  # what earlier tests left
    callees = [asyncio.create_task(_callee(ami, f"39018711123{n}", talk_s=8)) for n in range(3)]
    ids = [call_id for call_id, _ in await asyncio.gather(*callees)]
    deadline = time.monotonic() + 15
    while set(ids) - set(await ami.db_family(ABANDONED_FAMILY)):
        assert time.monotonic() < deadline, "the abandons were not recorded"
        await asyncio.sleep(0.2)
    batch = "&".join([ids[0], "../x", ids[1], "", "not-a-call"])
    await ami.run_dialplan("dialer-forget", "batch", {"IDS": batch})
    deadline = time.monotonic() + 5  # its dialplan runs on after the originate answers
    while (left := list(await ami.db_family(ABANDONED_FAMILY))) != [ids[2]]:
        assert time.monotonic() < deadline, left
        await asyncio.sleep(0.1)
    await ami.run_dialplan("dialer-forget", "abandoned")


async def test_an_abandon_is_recorded_in_asterisks_database_until_cleared(
    ami: AmiClient,
) -> None:
    """Each abandon leaves a record (time and reason, by call id) that a resync can read
    after an AMI outage; the dialplan the dialer runs once it has read them clears them."""
    await ami.run_dialplan("dialer-forget", "abandoned")  # what earlier tests left
    before = int(time.time())
    callee = asyncio.create_task(_callee(ami, "390187111223", talk_s=10))
    abandoned = await _next(ami, DialplanEvent, "Abandoned")
    assert isinstance(abandoned, DialplanEvent)
    records = await ami.db_family(ABANDONED_FAMILY)
    assert [abandoned.uniqueid] == list(records)
    stamp, reason = records[abandoned.uniqueid].split(":")
    assert "timeout" == reason
    assert before <= int(stamp) <= time.time()
    await callee
    await ami.run_dialplan("dialer-forget", "abandoned")
    assert {} == await ami.db_family(ABANDONED_FAMILY)


async def test_client_reconnects_after_asterisk_restarts() -> None:
    """Asterisk stopped and started again: the link goes down, comes back, and works; it
    counts as booted (the dialer dials) only once Asterisk says so, after each login."""
    port = TEST_AMI_PORT + 1  # an instance of its own, so other tests keep theirs
    settings = await asyncio.to_thread(start_testbed, port)
    client = AmiClient(dataclasses.replace(settings, ping_interval_s=1))
    await client.connect()
    try:
        await asyncio.wait_for(client.booted.wait(), 10)
        await asyncio.to_thread(stop_testbed, port)
        await _link_lost(client)
        assert not client.booted.is_set()
        await asyncio.to_thread(start_testbed, port)
        await _back_once(client)
        await asyncio.wait_for(client.booted.wait(), 10)
    finally:
        await client.close()
        await asyncio.to_thread(stop_testbed, port)


async def test_a_callee_sent_to_an_empty_seat_is_abandoned_not_left_alone(ami: AmiClient) -> None:
    """The connect guard: a seat with no operator in it sends the callee to the abandon message."""
    callee = asyncio.create_task(_callee(ami, "390187333444", talk_s=5))
    answered = await _next(ami, DialplanEvent, "Answered")
    assert isinstance(answered, DialplanEvent)
    await ami.redirect(answered.channel, "connect", "7999")
    abandoned = await _next(ami, DialplanEvent, "Abandoned", within=1.5)
    assert isinstance(abandoned, DialplanEvent)
    assert "no-operator" == abandoned.fields.get("Reason")
    await callee


async def test_a_callee_sent_to_a_seat_already_on_a_call_is_abandoned(ami: AmiClient) -> None:
    """The connect guard's other half: a seat holding its operator and a callee takes no
    second callee; that one hears the abandon message (Reason seat-busy), and the call in
    the seat goes on."""
    seat = "7002"
    await _open_seat(ami, seat)
    first = asyncio.create_task(_callee(ami, "390187121212", talk_s=8))
    answered = await _next(ami, DialplanEvent, "Answered")
    assert isinstance(answered, DialplanEvent)
    await ami.redirect(answered.channel, "connect", seat)
    joined = await _next(ami, ConferenceJoin)
    while isinstance(joined, ConferenceJoin) and joined.uniqueid != answered.uniqueid:
        joined = await _next(ami, ConferenceJoin)
    second = asyncio.create_task(_callee(ami, "390187343434", talk_s=5))
    again = await _next(ami, DialplanEvent, "Answered")
    assert isinstance(again, DialplanEvent)
    await ami.redirect(again.channel, "connect", seat)
    abandoned = await _next(ami, DialplanEvent, "Abandoned", within=1.5)
    assert isinstance(abandoned, DialplanEvent)
    assert (again.uniqueid, "seat-busy") == (abandoned.uniqueid, abandoned.fields.get("Reason"))
    assert answered.channel in await ami.confbridge_channels(f"seat-{seat}")
    await asyncio.gather(first, second)
    await ami.hangup(f"/^Local\\/{seat}@seat-sim-/")  # the operator's line: the seat is free


async def test_a_redirect_landing_after_the_abandon_leaves_the_callee_to_the_message(
    ami: AmiClient,
) -> None:
    """A seat came free just as the callee's 2 s ran out: the dialer's Redirect lands while
    the abandon message plays. The callee does not join the seat (the dialer has already
    recorded the call as abandoned and handed the seat back); the message goes on."""
    seat = "7003"
    await _open_seat(ami, seat)
    callee = asyncio.create_task(_callee(ami, "390187565656", talk_s=10))
    answered = await _next(ami, DialplanEvent, "Answered")
    abandoned = await _next(ami, DialplanEvent, "Abandoned")
    assert isinstance(answered, DialplanEvent)
    assert isinstance(abandoned, DialplanEvent)
    await ami.redirect(answered.channel, "connect", seat)
    await asyncio.sleep(1.0)
    assert answered.channel not in await ami.confbridge_channels(f"seat-{seat}")
    await _hears_the_abandon_message(ami, answered.channel)
    await callee
    await ami.hangup(f"/^Local\\/{seat}@seat-sim-/")  # the operator's line: the seat is free


_CALL = "1795426501.42"
_AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Event": "Newstate", "ChannelStateDesc": "Ringing"}, Ringing(_AT)),
        ({"Event": "Newstate", "ChannelStateDesc": "Up"}, None),
        (
            {"Event": "UserEvent", "UserEvent": "Answered", "Channel": "Local/1@x;1"},
            Answered(_AT, "Local/1@x;1"),
        ),
        (
            {"Event": "UserEvent", "UserEvent": "Abandoned", "Reason": "no-operator"},
            Abandoned(_AT, "no-operator"),
        ),
        ({"Event": "UserEvent", "UserEvent": "Machine"}, MachineDetected(_AT)),
        ({"Event": "UserEvent", "UserEvent": "Connected", "Seat": "7001"}, None),
        ({"Event": "ConfbridgeJoin", "Conference": "seat-7001"}, SeatJoined(_AT, "7001")),
        ({"Event": "ConfbridgeLeave", "Conference": "seat-7001"}, None),
        ({"Event": "Hangup", "Cause": "17", "Cause-txt": "User busy"}, HungUp(_AT, 17)),
        (
            {"Event": "OriginateResponse", "Response": "Success", "Reason": "4"},
            OriginateEnded(_AT, 4),
        ),
    ],
)
def test_a_calls_events_read_into_the_call_model(
    headers: dict[str, str], expected: CallEvent | None
) -> None:
    """From the wire and from a dict alike: each event of a call the dialer placed, as the
    call model's event (None for those it ignores); another channel's events are not read."""
    wire = "\r\n".join(f"{k}: {v}" for k, v in {**headers, "Uniqueid": _CALL}.items())
    for message in (Message.from_line(wire), {**headers, "Uniqueid": _CALL}):
        assert (_CALL, expected) == call_event_of(message, lambda: _AT, {_CALL})
        assert call_event_of(message, lambda: _AT, {"1795426501.43"}) is None


def test_the_far_halfs_events_are_the_calls_and_say_nothing_more() -> None:
    """The callee's half of the Local channel carries the call's id and ``FAR_LEG``: its
    hangup is the call's (nothing to read), another call's far half is not."""
    hangup = {"Event": "Hangup", "Cause": "16", "Uniqueid": _CALL + FAR_LEG}
    assert (_CALL, None) == call_event_of(hangup, lambda: _AT, {_CALL})
    assert call_event_of(hangup, lambda: _AT, {"1795426501.43"}) is None


def test_events_parse_alike_from_the_wire_and_from_a_dict() -> None:
    """panoramisk's Message (read through its store) and a plain mapping give the same event,
    header names in any case, a repeated header taken at its first value."""
    wire = (
        "Event: UserEvent\r\nPrivilege: user,all\r\nChannel: Local/0187200001@sim-pstn-1;1\r\n"
        "UNIQUEID: 1795426501.42\r\nLinkedid: 1795426501.41\r\nUserEvent: Abandoned\r\n"
        "Reason: timeout\r\nReason: again"
    )
    message = Message.from_line(wire)
    plain = {
        "Event": "UserEvent",
        "Channel": "Local/0187200001@sim-pstn-1;1",
        "Uniqueid": "1795426501.42",
        "Linkedid": "1795426501.41",
        "UserEvent": "Abandoned",
        "Reason": ["timeout", "again"],
    }
    from_wire = parse_event(message)
    assert isinstance(from_wire, DialplanEvent)
    assert DialplanEvent(
        "1795426501.42", "1795426501.41", "Local/0187200001@sim-pstn-1;1", "Abandoned",
        {"Reason": "timeout"},
    ) == from_wire  # fmt: skip
    assert from_wire == parse_event(plain)


async def test_reconnects_back_off_and_start_again_after_a_login() -> None:
    """panoramisk's Manager as the client configures it, its scheduling recorded: after the
    link is lost, each failed attempt (refused, or accepted and dropped before a login)
    doubles the wait before the next, up to the maximum; a login brings it back."""
    loop = asyncio.get_running_loop()
    waits: list[float] = []

    class Recording:
        """The loop, with the waits before each reconnect written down (and nothing run)."""

        def call_later(self, delay: float, callback: Any, *_: Any) -> None:
            if getattr(callback, "__name__", "") == "connect":  # not its pinger
                waits.append(delay)

        def call_soon(self, *_: Any) -> None: ...

    manager = _Manager(
        lambda _ok: None, (0.5, 4.0), host="127.0.0.1", port=1, loop=Recording(), log=_QuietLog()
    )
    assert manager.login(_logged_in(loop))
    manager.connection_lost(None)  # the link was up, logged in: the first wait is the least
    for _ in range(4):
        refused: asyncio.Future[Any] = loop.create_future()
        refused.set_exception(ConnectionRefusedError("refused"))
        manager.connection_made(refused)
    manager.connection_lost(None)  # accepted, then dropped before a login
    assert [0.5, 1.0, 2.0, 4.0, 4.0, 4.0] == waits
    assert manager.login(_logged_in(loop))
    manager.connection_lost(None)
    assert 0.5 == waits[-1]


def _logged_in(loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    """A login action's reply, as panoramisk hands it to ``Manager.login``."""
    accepted: asyncio.Future[Any] = loop.create_future()
    accepted.set_result(Message({"Response": "Success"}))
    return accepted


async def test_watchdog_drops_a_link_that_stopped_answering_and_unanswered_logins() -> None:
    """Asterisk frozen (SIGSTOP) keeps its sockets open, so only an unanswered ping can tell:
    the watchdog drops the link. Its kernel still accepts the reconnects, and nothing answers
    their logins: the watchdog drops each after the login timeout (TCP alone would wait
    minutes). The client is back once Asterisk runs again."""
    port = TEST_AMI_PORT + 1  # an instance of its own, as in the restart test
    settings = await asyncio.to_thread(start_testbed, port)
    pid = await asyncio.to_thread(asterisk_pid, port)
    client = AmiClient(
        dataclasses.replace(settings, ping_interval_s=1, action_timeout_s=1, login_timeout_s=1)
    )
    await client.connect()
    try:
        os.kill(pid, signal.SIGSTOP)
        try:
            await _link_lost(client, within=10)
            deadline = asyncio.get_running_loop().time() + 20
            while client.logins_dropped < 2:  # each accepted, never answered, then dropped
                assert asyncio.get_running_loop().time() < deadline, client.logins_dropped
                await asyncio.sleep(0.2)
        finally:
            os.kill(pid, signal.SIGCONT)
        await _back_once(client)
    finally:
        await client.close()
        await asyncio.to_thread(stop_testbed, port)


async def _link_lost(client: AmiClient, within: float = 5.0) -> None:
    """Wait for the client to report its link down."""
    down = await _next(client, LinkState, within=within)
    while down == LinkState(up=True):  # the FullyBooted of the first connection
        down = await _next(client, LinkState, within=within)
    assert LinkState(up=False) == down
    assert not client.connected.is_set()


async def _back_once(client: AmiClient) -> None:
    """Wait for the client's first reconnect, and check the link answers."""
    await asyncio.wait_for(client.connected.wait(), 20)
    assert 1 == client.reconnects
    await client.ping()


async def test_a_ringing_callee_is_seen_ringing_before_the_answer(ami: AmiClient) -> None:
    """The callee's phone rings: our side's channel reports it (the only Newstate the filter
    lets through), and the call moves from dialled to ringing, then to answered."""
    callee = asyncio.create_task(_callee(ami, "390187246800", talk_s=1))
    seen: list[tuple[AmiEvent, Any]] = []
    while not (seen and isinstance(seen[-1][0], DialplanEvent) and seen[-1][0].name == "Answered"):
        message = await asyncio.wait_for(ami.events.get(), 5)
        event = parse_event(message)
        if event is not None and not isinstance(event, LinkState):
            seen.append((event, message))
    call_id = (await callee)[0]
    ours = [(e, m) for e, m in seen if getattr(e, "uniqueid", None) == call_id]
    assert [ChannelRinging, DialplanEvent] == [type(e) for e, _ in ours]
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    call = new_call(call_id, 1, start)
    for ami_event, message in ours:
        assert call_event_of(message, lambda: start, {"another call"}) is None
        read = call_event_of(message, lambda: start, {call_id})
        assert read is not None
        assert read[0] == call_id
        assert read[1] is not None
        call, _ = transition(call, read[1])
        if isinstance(ami_event, ChannelRinging):
            assert CallState.RINGING is call.state
    assert CallState.ANSWERED is call.state


async def test_an_action_that_timed_out_is_forgotten_when_its_answer_comes_late(
    ami: AmiClient,
) -> None:
    """An Originate answered only once the callee picks up (3 s), given 0.5 s: the client
    gives up, and panoramisk keeps nothing of it, neither then nor after the late answer
    (it kept every timed-out action until the link dropped)."""
    manager = ami._manager
    assert manager is not None
    originate = {
        "Action": "Originate", "Channel": "Local/390187111222@sim-pstn", "Context": "dialer-hold",
        "Exten": "s", "Priority": "1", "Timeout": "10000", "ChannelId": str(uuid.uuid4()),
        "Variable": ["SIM_OUTCOME=answer", "SIM_RING_S=3", "SIM_TALK_S=1"],
    }  # fmt: skip
    with pytest.raises(AmiError, match="no answer within"):
        await ami._send(originate, 0.5)

    def originates() -> list[Any]:
        pending = manager.protocol.responses.values()
        return [a for a in pending if str(a.get("Action", "")).lower() == "originate"]

    assert [] == originates()
    answered = await _next(ami, DialplanEvent, "Answered", within=10)
    assert isinstance(answered, DialplanEvent)
    assert originate["ChannelId"] == answered.uniqueid  # its late answer has come
    await asyncio.sleep(0.5)
    assert [] == originates()


def test_every_action_the_client_sends_is_forgotten_with_its_link() -> None:
    """panoramisk sends a pending action again after a reconnect unless it is forgettable:
    by then a Hangup or Redirect may name a channel Asterisk has given to another call."""
    source = Path(client_module.__file__).read_text(encoding="utf-8")
    sent = {name.lower() for name in re.findall(r'"Action": "(\w+)"', source)}
    assert sent
    assert sent | {"login", "logoff"} <= set(FORGETTABLE)
