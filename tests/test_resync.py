"""What a resync makes of the abandons Asterisk recorded and its channel snapshot (pure; on
Asterisk: tests/test_campaign.py, the calls abandoned while the link was down)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.call.resync import (
    RECORD_KEEP,
    UNKNOWN_PATIENCE_S,
    left_to_dialplan,
    missed_events,
    read_abandon,
    records_to_clear,
    settle_unknown,
)
from dialer.call.state import (
    Abandoned,
    Answered,
    Call,
    CallEvent,
    CallState,
    HungUp,
    MachineDetected,
    Ringing,
    SeatJoined,
    new_call,
    transition,
)
from dialer.disposition import Outcome

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(seconds=30)


def _call(call_id: str, *events: CallEvent) -> Call:
    call = new_call(call_id, 1, T0)
    for event in events:
        call, _ = transition(call, event)
    return call


def _channel(
    call_id: str, context: str, application: str, data: str = "", state: str = "6"
) -> dict[str, str]:
    """Our side's channel as CoreShowChannels lists it (``state`` 6: up, 5: ringing)."""
    return {
        "Uniqueid": call_id, "Channel": f"Local/0187200001@sim-pstn-{call_id};1",
        "Context": context, "Application": application, "ApplicationData": data,
        "ChannelState": state,
    }  # fmt: skip


RINGING = Ringing(T0)
ANSWERED = Answered(T0 + timedelta(seconds=2), "Local/x;1")
SEATED = SeatJoined(T0 + timedelta(seconds=3), "7101")


def test_a_recorded_abandon_ends_a_call_not_heard_answered_as_abandoned_at_its_time() -> None:
    """Answered and abandoned while the link was down: the dialer heard neither."""
    calls = {"r": _call("r", RINGING), "a": _call("a", RINGING, ANSWERED)}
    stamp = int((T0 + timedelta(seconds=9)).timestamp())
    records = {"r": f"{stamp}:timeout", "a": f"{stamp}:no-operator", "other": f"{stamp}:timeout"}
    missed = dict(missed_events(calls, [], records, NOW))
    assert {"r": Abandoned(T0 + timedelta(seconds=9), "timeout"),
            "a": Abandoned(T0 + timedelta(seconds=9), "no-operator")} == missed  # fmt: skip
    ended, _ = transition(calls["r"], missed["r"])
    assert (CallState.ENDED, Outcome.ABANDONED) == (ended.state, ended.outcome)
    assert T0 + timedelta(seconds=9) == ended.answered == ended.ended


def test_channels_tell_an_answer_waiting_a_seat_taken_and_an_end() -> None:
    calls = {
        "waits": _call("waits", RINGING),  # answered, in the hold context: to a seat now
        "listens": _call("listens", RINGING),  # detection still listening: not yet a person
        "judged": _call("judged", RINGING),  # detection done: a machine being reported
        "timing": _call("timing", RINGING),  # its hold's timer being set: before detection
        "seated": _call("seated", RINGING, ANSWERED),  # the Redirect landed: in its seat
        "talked": _call("talked", RINGING, ANSWERED, SEATED),  # gone: the interview ended
        "rang": _call("rang", RINGING),  # gone unanswered: its originate's result ends it
        "rings": _call("rings", RINGING),  # still ringing
    }
    channels = [
        _channel("waits", "dialer-hold", "Wait", "2"),
        _channel("listens", "dialer-hold", "AMD"),
        _channel("judged", "dialer-hold", "UserEvent", "Machine,CallId: judged"),
        _channel("timing", "dialer-hold", "Set", "HOLD_S=2"),
        _channel("seated", "connect", "ConfBridge", "seat-7101,seat_bridge,callee"),
        _channel("rings", "sim-pstn", "AppDial2", "(Outgoing Line)", state="5"),
    ]
    missed = dict(missed_events(calls, channels, {}, NOW))
    assert {
        "waits": Answered(NOW, "Local/0187200001@sim-pstn-waits;1"),
        "seated": SeatJoined(NOW, "7101"),
        "talked": HungUp(NOW, 0),
    } == missed
    talked, _ = transition(calls["talked"], missed["talked"])
    assert Outcome.CONNECTED == talked.outcome


def test_a_machine_verdict_recorded_meanwhile_ends_its_call_as_a_machine() -> None:
    """Detection judged the callee a machine while the link was down, and the dialplan
    recorded it like an abandon: the call ends as a machine at the record's time (it counts
    toward the cap as the estimate says, and the number rests 24 hours), not as congestion."""
    judged = T0 + timedelta(seconds=12)
    calls = {"judged": _call("judged", RINGING)}
    record = {"judged": f"{int(judged.timestamp())}:machine"}
    assert [("judged", MachineDetected(judged))] == missed_events(calls, [], record, NOW)


def test_a_connected_or_ended_call_takes_no_abandon() -> None:
    stamp = str(int(NOW.timestamp()))
    calls = {"talking": _call("talking", RINGING, ANSWERED, SEATED)}
    calls["done"], _ = transition(calls["talking"], HungUp(T0 + timedelta(seconds=5), 16))
    channels = [_channel("talking", "connect", "ConfBridge", "seat-7101")]
    assert [] == missed_events(calls, channels, {"talking": stamp, "done": stamp}, NOW)


def test_an_abandons_time_is_now_when_it_cannot_be_this_calls() -> None:
    started = T0 + timedelta(seconds=0.4)
    assert (T0, "timeout") == read_abandon(f"{int(T0.timestamp())}:timeout", started, NOW)
    assert (NOW, "timeout") == read_abandon("soon:", started, NOW)
    before = int((T0 - timedelta(hours=1)).timestamp())
    assert (NOW, "seat-busy") == read_abandon(f"{before}:seat-busy", started, NOW)
    after = int((NOW + timedelta(hours=1)).timestamp())
    assert (NOW, "timeout") == read_abandon(f"{after}:timeout", started, NOW)


def test_a_restart_leaves_callees_waiting_or_hearing_the_message_to_the_dialplan() -> None:
    """A dead process's callee on hold is abandoned (and recorded) by the dialplan, one in
    the abandon context hears the message to its end: a restart hangs up neither (the first
    was a silent call nobody counted). A ringing call or a callee in a seat is hung up."""
    assert left_to_dialplan({"Context": "dialer-hold", "Application": "Wait"})
    assert left_to_dialplan({"Context": "abandon", "Application": "Playback"})
    assert not left_to_dialplan({"Context": "sim-trunk", "Application": "Dial"})
    assert not left_to_dialplan({"Context": "connect", "Application": "ConfBridge"})


def test_a_campaign_clears_its_closed_calls_records_and_any_past_a_week() -> None:
    """Once read, a campaign clears the records of its calls whose attempts are closed; an
    open one's record waits (a restart reads it if the process dies first), another
    campaign's waits for its reader, and any written over RECORD_KEEP ago goes, whoever's.
    A key that is not a call id is never handed to the dialplan."""
    fresh, old = int(NOW.timestamp()) - 60, int((NOW - RECORD_KEEP).timestamp()) - 1
    ours, still_open, theirs, forgotten = (f"{n:08x}-0000-4000-8000-000000000000" for n in range(4))
    records = {
        ours: f"{fresh}:timeout",
        still_open: f"{fresh}:timeout",
        theirs: f"{fresh}:timeout",
        forgotten: f"{old}:no-operator",
        "not-a-call": f"{old}:timeout",
        f"{5:08x}-0000-4000-8000-000000000000": "unreadable",
    }
    assert [ours, forgotten] == records_to_clear(records, {ours}, NOW)


def test_a_call_whose_originates_result_was_lost_is_settled_by_what_a_resync_sees() -> None:
    """Answered or ended meanwhile: nothing to do. A live channel: wait for its events, up
    to UNKNOWN_PATIENCE_S, then hang it up. Gone: ended as unknown when the reconnect's
    resync sees it (its events went with the link), when its hangup was heard, or when a
    resync saw it gone before; else wait one resync (events still queued may tell)."""
    ringing = _call("c1", RINGING)
    hung_up = _call("c1", RINGING, HungUp(T0 + timedelta(seconds=4), 16))
    patience = UNKNOWN_PATIENCE_S
    assert "drop" == settle_unknown(None, False, False, False, 5)
    assert "drop" == settle_unknown(_call("c1", ANSWERED), False, False, True, 5)
    assert "wait" == settle_unknown(ringing, True, False, True, patience)
    assert "hang_up" == settle_unknown(ringing, True, True, False, patience + 1)
    assert "gone" == settle_unknown(ringing, False, False, False, 5)
    assert "end" == settle_unknown(ringing, False, True, False, 5)
    assert "end" == settle_unknown(ringing, False, False, True, 5)
    assert "end" == settle_unknown(hung_up, False, False, False, 5)
