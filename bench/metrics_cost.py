"""What metrics and logging cost the dialer's AMI event path, against bare panoramisk.

    python -m bench.metrics_cost [--calls 5000] [--rounds 10] [--json]

One AMI event stream (the wire text of ``--calls`` connected calls through the carrier, as our
dialplan's ``outbound`` context raises them and asterisk_conf/manager.conf's event filter lets
through: the trunk's channel ringing, our side ringing (``Newstate``), ``UserEvent(Answered)``,
``UserEvent(Connected)``, the callee joining and leaving the seat's conference, the hangups
of the trunk's channel and of both halves of ours; the ``OriginateResponse`` goes to the
originate's action, not to the event path) is fed through panoramisk's own protocol parser
three ways, in the same run, measuring events per CPU-second (``time.process_time``):

- ``panoramisk``: parsing only, every event dispatched to a callback that does nothing;
- ``dialer, bare``: the dialer's path as the runner takes it (a call's events read into the
  call model's, the rest through ``parse_event``; the call state machine, the pacer's
  statistics), metrics off and logs filtered out;
- ``dialer, metrics + logs``: the same with the runner's metrics (``DialerMetrics``, its
  histograms' observations counted into buckets at the runner's tick, every ``TICK_S`` and
  once at the end) and its JSON log lines at info level (structlog, numbers masked: one line
  per attempt, with its outcome; the dial and the transitions between are debug lines)
  written to a memory stream.

Rounds alternate the three and the best round of each counts (machines are shared and noisy).
Goal: ``dialer, metrics + logs`` at 60% or more of ``panoramisk``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from panoramisk.ami_protocol import AMIProtocol
from rich.console import Console
from rich.table import Table

from dialer.ami.events import FAR_LEG, call_event_of, parse_event
from dialer.call.state import Call, CallEvent, RecordAttempt, new_call, transition
from dialer.campaign.runner import TICK_S, attempt_fields, learn
from dialer.logs import bind, configure, debug_enabled, unbind_all
from dialer.metrics import DialerMetrics
from dialer.pacing.stats import CallStats

GOAL = 0.60
EVENTS = 9
"""Events per call in ``stream``."""
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _event(name: str, **fields: str) -> str:
    lines = [f"Event: {name}", "Privilege: call,all", *(f"{k}: {v}" for k, v in fields.items())]
    return "\r\n".join(lines) + "\r\n\r\n"


def stream(calls: int) -> tuple[bytes, list[str]]:
    """The wire text of ``calls`` calls, and their call ids (the originate's ChannelId)."""
    parts = ["Asterisk Call Manager/9.0.0\r\n"]
    ids = []
    rng = random.Random(1)  # ids like the runner's (uuid4), the same in every run
    for n in range(calls):
        call_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        other = call_id + FAR_LEG  # the originate's OtherChannelId, as the runner sets it
        ids.append(call_id)
        local = f"Local/390187{200000 + n:06d}@outbound-{n:08x}"
        trunk, trunk_id = f"PJSIP/trunk-{n:08x}", f"1795426501.{n}"  # Asterisk names it
        common = {
            "CallerIDNum": "<unknown>",
            "CallerIDName": "<unknown>",
            "ConnectedLineNum": "<unknown>",
            "Language": "en",
            "AccountCode": "",
            "Context": "dialer-hold",
            "Exten": "s",
            "Priority": "1",
            "Linkedid": call_id,
        }
        seat = f"seat-{7001 + n % 100}"
        events = (
            ("Newstate", trunk, trunk_id, {"ChannelState": "5", "ChannelStateDesc": "Ringing"}),
            (
                "Newstate",
                f"{local};1",
                call_id,
                {"ChannelState": "5", "ChannelStateDesc": "Ringing"},
            ),
            ("UserEvent", f"{local};1", call_id, {"UserEvent": "Answered", "CallId": call_id}),
            (
                "UserEvent",
                f"{local};1",
                call_id,
                {"UserEvent": "Connected", "CallId": call_id, "Seat": seat[5:]},
            ),
            ("ConfbridgeJoin", f"{local};1", call_id, {"Conference": seat, "Admin": "No"}),
            ("ConfbridgeLeave", f"{local};1", call_id, {"Conference": seat, "Admin": "No"}),
            ("Hangup", trunk, trunk_id, {"Cause": "16", "Cause-txt": "Normal Clearing"}),
            ("Hangup", f"{local};2", other, {"Cause": "16", "Cause-txt": "Normal Clearing"}),
            ("Hangup", f"{local};1", call_id, {"Cause": "16", "Cause-txt": "Normal Clearing"}),
        )
        assert len(events) == EVENTS
        for name, channel, uid, extra in events:
            parts.append(_event(name, Channel=channel, Uniqueid=uid, **common, **extra))
    return "".join(parts).encode("ascii"), ids


class _Factory:
    """What panoramisk's protocol dispatches parsed events to."""

    def __init__(self, callback: Callable[[Any], None]) -> None:
        self.dispatch = callback


def parse(data: bytes, callback: Callable[[Any], None], chunk: int = 4096) -> None:
    """Feed ``data`` to panoramisk's parser in socket-sized chunks."""
    protocol = AMIProtocol()
    protocol.connection_made(None)
    protocol.factory = _Factory(callback)
    for start in range(0, len(data), chunk):
        protocol.data_received(data[start : start + chunk])


class _NoMetrics(DialerMetrics):
    """The dialer without its metrics: every recording call does nothing."""

    def launched(self) -> None: ...
    def answered(self, ring_s: float) -> None: ...
    def connected(self, wait_s: float) -> None: ...
    def abandoned(self) -> None: ...
    def talk_ended(self, seconds: float) -> None: ...
    def wrap_ended(self, seconds: float) -> None: ...
    def attempt_ended(self, outcome: str, aapor: str | None) -> None: ...
    def fold(self) -> None: ...

    def __init__(self, campaign: str) -> None:
        super().__init__(campaign)
        self.event_handled = lambda lag_s: None


@dataclass
class DialerPath:
    """The runner's handling of call events (its own functions: ``call_event_of`` and
    ``parse_event``, the call state machine, ``learn``), its log lines and metrics."""

    calls: dict[str, Call]
    metrics: DialerMetrics
    stats: CallStats
    log: Any
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the runner's
    events: int = 0
    tracing: bool = True
    next_tick: float = 0.0

    def handle(self, message: Any) -> None:
        self.events += 1
        arrived = time.monotonic()
        ours = call_event_of(message, self.clock, self.calls)
        if ours is not None:
            if ours[1] is not None:
                self._apply(self.calls[ours[0]], ours[1])
        else:
            parse_event(message)  # the link's and the seats' lines' events
        self.metrics.event_handled(time.monotonic() - arrived)
        if arrived >= self.next_tick:  # the runner's tick counts the histograms' values
            self.next_tick = arrived + TICK_S
            self.metrics.fold()

    def _apply(self, call: Call, event: CallEvent) -> None:
        before = call.state
        call, effects = transition(call, event)
        self.calls[call.call_id] = call
        learn(self.stats, self.metrics, before, call, event.at)
        if self.tracing and call.state is not before:
            self.log.debug(
                "call", **_ids(call), channel=call.channel, trigger=type(event).__name__,
                **{"from": before.value}, to=call.state.value, seat=call.seat,
            )  # fmt: skip
        for effect in effects:
            if isinstance(effect, RecordAttempt):
                self.metrics.attempt_ended(effect.outcome.value, None)
                self.log.info("attempt", **_ids(call), channel=call.channel, **attempt_fields(call))


def _ids(call: Call) -> dict[str, Any]:
    """What the runner's lines about a call name (``CampaignRunner._ids``)."""
    return {"call_id": call.call_id, "case_id": call.case_id, "attempt_id": 1}


def _bare_round(data: bytes, _ids: list[str]) -> int:
    count = 0

    def nothing(_message: Any) -> None:
        nonlocal count
        count += 1

    parse(data, nothing)
    return count


def _dialer_round(data: bytes, ids: list[str], instrumented: bool) -> int:
    sink = io.StringIO()
    configure(json=True, level=logging.INFO if instrumented else logging.CRITICAL, stream=sink)
    bind(campaign="bench")
    try:
        path = DialerPath(
            calls={i: new_call(i, n, T0) for n, i in enumerate(ids)},
            metrics=DialerMetrics("bench") if instrumented else _NoMetrics("bench"),
            stats=CallStats(),
            log=(log := structlog.get_logger("bench").bind()),  # as the runner holds it
            tracing=debug_enabled(log),
        )
        if instrumented:
            for _ in ids:  # the runner's per-call work before any event: dial (debug), launched
                if path.tracing:
                    path.log.debug("dial", call_id="x", case_id=1, number="*******123")
                path.metrics.launched()
        parse(data, path.handle)
        path.metrics.fold()  # what the last tick would count
        return path.events
    finally:
        unbind_all()
        configure()


CONTESTANTS: dict[str, Callable[[bytes, list[str]], int]] = {
    "panoramisk": _bare_round,
    "dialer, bare": lambda data, ids: _dialer_round(data, ids, instrumented=False),
    "dialer, metrics + logs": lambda data, ids: _dialer_round(data, ids, instrumented=True),
}


def measure(calls: int, rounds: int) -> dict[str, float]:
    """Best events per CPU-second of each contestant over ``rounds`` alternating rounds."""
    data, ids = stream(calls)
    best = dict.fromkeys(CONTESTANTS, 0.0)
    for _ in range(rounds):
        for name, run in CONTESTANTS.items():
            start = time.process_time()
            events = run(data, ids)
            spent = time.process_time() - start
            best[name] = max(best[name], events / max(spent, 1e-9))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rates = measure(args.calls, args.rounds)
    base = rates["panoramisk"]
    if args.json:
        print(
            json.dumps({"events_per_cpu_s": rates, "ratio": rates["dialer, metrics + logs"] / base})
        )
    else:
        table = Table(
            title="AMI events per CPU-second",
            caption=f"{args.calls} calls x {EVENTS} events, best of {args.rounds} rounds",
        )
        for column in ("path", "events / CPU-s", "of panoramisk"):
            table.add_column(column, justify="left" if column == "path" else "right")
        for name, rate in rates.items():
            table.add_row(name, f"{rate:,.0f}", f"{rate / base:.0%}")
        Console().print(table)
    ratio = rates["dialer, metrics + logs"] / base
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"goal: metrics + logs at >= {GOAL:.0%} of bare panoramisk: {ratio:.0%}, {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
