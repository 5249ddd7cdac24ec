"""Answer-to-seat latency on the real Asterisk: many answers arriving together.

    python -m bench.connect [--calls 100] [--seats 100] [--json]

Operators wait in their seat conferences (the open line); callees answer together after one
second of ringing; the dialer takes a free seat for each ``Answered`` event and Redirects the
callee into it, using the same seat board and AMI adapter as the service. Latency is Asterisk's
own clock from the callee's answer (``UserEvent(Answered)``) to the callee joining the seat's
conference (``ConfbridgeJoin``), so neither event's delivery time hides in it. Goal: p99 under
500 ms. The second row issues the Redirects one after another (awaiting each) instead of as
concurrent tasks, to show what serialising the connect path would cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dialer.ami.client import AmiClient
from dialer.campaign.runner import wait_for_operator
from dialer.logs import configure
from dialer.seats import SeatBoard, log_in, take
from dialer.testbed import start_testbed, stop_testbed

REPO = Path(__file__).resolve().parents[1]
PORT = 15041


@dataclass
class Run:
    latencies_ms: list[float]
    abandoned: int
    event_lag_ms: list[float]


def _stamp(message: Any) -> float:
    return float(message.get("Timestamp", 0) or 0)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _open_seats(ami: AmiClient, seats: int) -> SeatBoard:
    board = SeatBoard()
    ids = [str(7000 + i) for i in range(1, seats + 1)]
    await asyncio.gather(
        *(
            ami.originate(
                channel=f"Local/{seat}@seat-sim",
                context="seat-keepalive",
                exten="s",
                channel_id=f"seat-{seat}-{uuid.uuid4()}",
                timeout_s=5,
            )
            for seat in ids
        )
    )
    for seat in ids:  # the line answers a moment before the operator is in the conference
        await wait_for_operator(ami, seat)
    now = datetime.now(UTC)
    for seat in ids:
        board = log_in(board, seat, now)
    return board


async def _burst(ami: AmiClient, board: SeatBoard, calls: int, concurrent: bool) -> Run:
    while not ami.events.empty():
        ami.events.get_nowait()
    call_ids = {str(uuid.uuid4()) for _ in range(calls)}
    answered_at: dict[str, float] = {}
    joined: list[float] = []
    lags: list[float] = []
    abandoned = 0
    pending: set[asyncio.Task[None]] = set()
    for call_id in call_ids:
        asyncio.create_task(  # noqa: RUF006 - results come back as events
            ami.originate(
                channel=f"Local/39018{abs(hash(call_id)) % 10**7:07d}@sim-pstn",
                context="dialer-hold",
                exten="s",
                channel_id=call_id,
                other_channel_id=call_id + "-pstn",
                timeout_s=10,
                variables={"SIM_OUTCOME": "answer", "SIM_RING_S": "1", "SIM_TALK_S": "3"},
            )
        )
    deadline = time.monotonic() + 20
    while len(joined) + abandoned < calls and time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(ami.events.get(), deadline - time.monotonic())
        except TimeoutError:
            break
        event, uid = message.get("Event"), message.get("Uniqueid")
        if uid not in call_ids:
            continue
        lags.append((time.time() - _stamp(message)) * 1000)
        if event == "UserEvent" and message.get("UserEvent") == "Answered":
            answered_at[uid] = _stamp(message)
            board, seat = take(board, uid, datetime.now(UTC))
            if seat is None:
                continue  # the dialplan abandons it after 2 s
            redirect = ami.redirect(str(message.get("Channel")), "connect", seat.seat_id)
            if concurrent:
                task = asyncio.create_task(redirect)
                pending.add(task)
                task.add_done_callback(pending.discard)
            else:
                await redirect
        elif event == "ConfbridgeJoin" and uid in answered_at:
            joined.append((_stamp(message) - answered_at[uid]) * 1000)
        elif event == "UserEvent" and message.get("UserEvent") == "Abandoned":
            abandoned += 1
    return Run(joined, abandoned, lags)


async def measure(calls: int, seats: int) -> dict[str, Run]:
    ami = AmiClient(start_testbed(PORT))
    await ami.connect()
    runs: dict[str, Run] = {}
    try:
        for label, concurrent in (
            ("redirects as tasks (ours)", True),
            ("redirects awaited in turn", False),
        ):
            board = await _open_seats(ami, seats)
            runs[label] = await _burst(ami, board, calls, concurrent)
            await ami.hangup("/./")  # every channel (a regular expression), between runs
            await asyncio.sleep(1)
    finally:
        await ami.close()
        stop_testbed(PORT)
    return runs


def main() -> None:
    configure(level=logging.INFO)
    parser = argparse.ArgumentParser(description="answer-to-seat latency on the real Asterisk")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = asyncio.run(measure(args.calls, args.seats))
    table = Table(title=f"{args.calls} answers together, {args.seats} seats waiting (ms)")
    for column in (
        "connect path",
        "connected",
        "abandoned",
        "p50",
        "p95",
        "p99",
        "max",
        "event lag p99",
    ):
        table.add_column(column, justify="right")
    summary: dict[str, dict[str, float]] = {}
    for label, run in runs.items():
        lat = run.latencies_ms or [float("nan")]
        row = {
            "connected": float(len(run.latencies_ms)),
            "abandoned": float(run.abandoned),
            "p50_ms": statistics.median(lat),
            "p95_ms": _percentile(lat, 95),
            "p99_ms": _percentile(lat, 99),
            "max_ms": max(lat),
            "event_lag_p99_ms": _percentile(run.event_lag_ms or [float("nan")], 99),
        }
        summary[label] = row
        table.add_row(
            label,
            *(
                f"{v:.0f}" if k in ("connected", "abandoned") else f"{v:.1f}"
                for k, v in row.items()
            ),
        )
    Console(width=140).print(table)
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
