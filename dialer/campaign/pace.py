"""The live campaign's state as pacers see it, and which due cases to dial (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np

from dialer.call.state import BEFORE_SEAT, Call, CallState
from dialer.campaign.selection import CaseView, is_callback
from dialer.pacing.cells import CellNeed, room, spread
from dialer.pacing.snapshot import Floats, Snapshot
from dialer.pacing.stats import CallStats
from dialer.seats import SeatBoard, SeatState
from dialer.store.quotas import CellCounts
from sampling.survey import Survey
from sampling.yields import Ints, estimate_yield

RINGING = (CallState.DIALLING, CallState.RINGING)


def snapshot_of(
    now: datetime,
    board: SeatBoard,
    calls: Iterable[Call],
    seated: Mapping[str, str],
    channel_limit: int,
    stats: CallStats,
    grace_s: float,
) -> Snapshot:
    """``seated`` maps the answered calls already given a seat (being put through);
    ``grace_s`` is the dialer's cut-off for new calls (``runner.latest_seat_s``). Times
    since are never negative: the wall clock can step back (NTP), and a negative time read
    a pacer's table from its end (a call out would look past all chance of an answer)."""
    calls = list(calls)
    seats = list(board.seats.values())

    def since(then: datetime) -> float:
        return max((now - then).total_seconds(), 0.0)

    def elapsed(state: SeatState) -> Floats:
        """Seats in ``state`` that will be free after it (no pause asked, line open)."""
        return np.array([since(s.since) for s in seats if s.state is state and s.coming_back])

    return Snapshot(
        now=now.timestamp(),
        free=len(board.free()),
        talk_elapsed=elapsed(SeatState.ON_CALL),
        wrap_elapsed=elapsed(SeatState.WRAP_UP),
        ring_elapsed=np.array([since(c.started) for c in calls if c.state in RINGING]),
        waiting=sum(1 for c in calls if c.state is CallState.ANSWERED and c.call_id not in seated),
        paused=board.count(SeatState.PAUSED)
        + sum(1 for s in seats if s.state is not SeatState.PAUSED and s.pause_after is not None),
        channel_room=max(channel_limit - len(calls), 0),
        stats=stats,
        grace_s=grace_s,
    )


def calls_out(cases: Mapping[str, CaseView], calls: Mapping[str, Call]) -> list[int]:
    """The cell of each call whose interview is not yet reserved (dialled, ringing, or
    answered and waiting for a seat): a callee in a seat already counts in its cell's
    interviews in progress, and counted again here it held a call back."""
    return [
        case.cell
        for call_id, case in cases.items()
        if (call := calls.get(call_id)) is not None and call.state in BEFORE_SEAT
    ]


def cell_needs(
    counts: CellCounts, survey: Survey, calls_out: Iterable[int], dials: Ints
) -> list[CellNeed]:
    """Each cell's need as ``cells.spread`` sees it: remaining completes, expected completes
    per dial and calls out (``calls_out``: the cell of each call out; ``dials``: the ended
    dials of each frame cell); ``available`` is filled in from the cases due (``to_dial``).

    Per dial, not per number as releases count it: a number takes several dials, and a
    cell's yield per finished number (early on mostly quick completes and refusals) let a
    fraction of the calls out that its remaining completes could use."""
    out = Counter(calls_out)
    yields = estimate_yield(counts.frame_completes, dials, survey.yield_prior)
    remaining = counts.target - counts.completes - counts.in_progress
    return [CellNeed(int(remaining[i]), float(yields[i]), out[i], 0) for i in range(len(remaining))]


def to_dial(launch: int, due: Sequence[CaseView], needs: Sequence[CellNeed]) -> list[CaseView]:
    """The cases to dial now, at most ``launch`` of ``due`` (in priority order): callbacks
    first (appointments, kept while their cell has room for calls out), then the rest
    shared over the cells as the simulator shares them (``cells.spread``: by remaining need
    over expected yield, and never more calls out than a cell's remaining completes can use),
    each cell's in ``due``'s order. Dialling in ``due``'s order alone sent each decision's
    calls to the emptiest cells, whose answer rate the pacer had least seen."""
    out = [need.in_flight for need in needs]
    waiting: list[list[CaseView]] = [[] for _ in needs]
    chosen: list[CaseView] = []
    for case in due:
        if not is_callback(case):
            waiting[case.cell].append(case)
        elif len(chosen) < launch and room(_with(needs[case.cell], out[case.cell], 10**9)):
            chosen.append(case)
            out[case.cell] += 1
    current = [_with(need, out[i], len(waiting[i])) for i, need in enumerate(needs)]
    for cell, count in enumerate(spread(launch - len(chosen), current)):
        chosen.extend(waiting[cell][:count])
    return chosen


def _with(need: CellNeed, in_flight: int, available: int) -> CellNeed:
    return need._replace(in_flight=in_flight, available=available)
