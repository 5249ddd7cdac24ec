"""The live campaign's state as pacers see it, and the quota cells' room for calls (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np

from dialer.call.state import Call, CallState
from dialer.pacing.cells import CellNeed, room
from dialer.pacing.snapshot import Floats, Snapshot
from dialer.pacing.stats import CallStats
from dialer.seats import SeatBoard, SeatState
from dialer.store.quotas import CellCounts
from sampling.survey import Survey
from sampling.yields import estimate_yield

RINGING = (CallState.DIALLING, CallState.RINGING)


def snapshot_of(
    now: datetime,
    board: SeatBoard,
    calls: Iterable[Call],
    seated: Mapping[str, str],
    channel_limit: int,
    stats: CallStats,
) -> Snapshot:
    """``seated`` maps the answered calls already given a seat (being put through)."""
    calls = list(calls)
    seats = list(board.seats.values())

    def elapsed(state: SeatState) -> Floats:
        """Seats in ``state`` that will be free after it (no pause asked, line open)."""
        return np.array(
            [(now - s.since).total_seconds() for s in seats if s.state is state and s.coming_back]
        )

    return Snapshot(
        now=now.timestamp(),
        free=len(board.free()),
        talk_elapsed=elapsed(SeatState.ON_CALL),
        wrap_elapsed=elapsed(SeatState.WRAP_UP),
        ring_elapsed=np.array(
            [(now - c.started).total_seconds() for c in calls if c.state in RINGING]
        ),
        waiting=sum(1 for c in calls if c.state is CallState.ANSWERED and c.call_id not in seated),
        paused=board.count(SeatState.PAUSED)
        + sum(1 for s in seats if s.state is not SeatState.PAUSED and s.pause_after is not None),
        channel_room=max(channel_limit - len(calls), 0),
        stats=stats,
    )


def cell_rooms(counts: CellCounts, survey: Survey, calls_out: Iterable[int]) -> list[int]:
    """More calls each cell can take now: calls out never exceed what the cell's remaining
    completes can use at its expected yield (``calls_out``: the cell of each call out)."""
    out = Counter(calls_out)
    yields = estimate_yield(counts.frame_completes, counts.finished, survey.yield_prior)
    remaining = counts.target - counts.completes - counts.in_progress
    return [
        room(CellNeed(int(remaining[i]), float(yields[i]), out[i], 10**9))
        for i in range(len(remaining))
    ]
