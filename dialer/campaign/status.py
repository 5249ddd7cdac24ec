"""What a supervisor reads about a running campaign: a snapshot built from the state (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dialer.seats import SeatBoard
from results.aapor import Category, Counts
from results.summary import OutcomeRates
from sampling.cells import CellKey


@dataclass(frozen=True, slots=True)
class SeatStatus:
    seat: str
    state: str  # free, on_call, wrap_up, paused, no_line (line lost, being reopened), logged_out
    since: str | None
    call_id: str | None
    case_id: int | None
    pause_after: str | None = None  # a pause the operator asked for after this call


@dataclass(frozen=True, slots=True)
class CellStatus:
    district: str
    age_band: str
    sex: str
    target: int
    completes: int
    in_progress: int
    closed: bool


@dataclass(frozen=True, slots=True)
class CampaignStatus:
    campaign: str
    state: str
    finished: str
    completes: int
    target: int
    live_calls: int
    attempts: dict[str, int]
    abandon_rate: float
    """Over the wave: abandoned over live answers, machine verdicts' estimated people in."""
    seats: list[SeatStatus]
    cells: list[CellStatus]
    window: AbandonWindow


@dataclass(frozen=True, slots=True)
class AbandonWindow:
    """The rule the pacer holds (the campaign's ``[abandon]`` policy) and where it stands."""

    window_h: float
    cap: float
    amd_false_positive: float
    abandon_rate: float
    """Over the regulatory window now, as the cap judges it."""
    answers: float
    amd_abandons: float
    """Of the window's abandons, those estimated from machine verdicts."""
    amd_suspended: bool = False
    """Detection suspended: its estimated false positives near the cap."""


@dataclass(frozen=True, slots=True)
class RateRow:
    """AAPOR counts and rates of the wave ("all") or of one frame cell."""

    cell: str
    counts: dict[str, int]
    rates: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class RatesStatus:
    campaign: str
    wave: int
    eligibility: float | None
    """``e``, by proportional allocation over the wave."""
    rows: list[RateRow]


def rates_status(campaign: str, wave: int, outcomes: OutcomeRates) -> RatesStatus:
    """The rates as the API serves them: the wave first, then each cell."""
    rows = [RateRow("all", _counts(outcomes.counts), outcomes.rates)]
    rows += [RateRow(str(c.cell), _counts(c.counts), c.rates) for c in outcomes.cells]
    return RatesStatus(campaign, wave, outcomes.eligibility, rows)


def _counts(counts: Counts) -> dict[str, int]:
    return {"cases": counts.cases, **{c.value: getattr(counts, c.name.lower()) for c in Category}}


def abandon_rate(outcomes: Mapping[str, int], machine_people: float = 0.0) -> float:
    """Abandoned calls over live answers (connected + abandoned), as the regulator counts:
    ``machine_people``, the people machine verdicts were counted as (their shares summed),
    count as abandoned live answers (Ofcom)."""
    abandoned = outcomes.get("abandoned", 0) + machine_people
    live = outcomes.get("connected", 0) + abandoned
    return abandoned / live if live else 0.0


def seat_rows(
    roster: Sequence[str], board: SeatBoard, case_of: Mapping[str, int]
) -> list[SeatStatus]:
    """Every seat of the roster, logged in or not, with its call and case."""
    rows = []
    for seat_id in roster:
        seat = board.seats.get(seat_id)
        if seat is None:
            rows.append(SeatStatus(seat_id, "logged_out", None, None, None))
            continue
        rows.append(
            SeatStatus(
                seat_id,
                seat.state.value if seat.line else "no_line",
                seat.since.isoformat(),
                seat.call_id,
                case_of.get(seat.call_id) if seat.call_id else None,
                seat.pause_after,
            )
        )
    return rows


def cell_rows(
    keys: Sequence[CellKey],
    target: Sequence[int],
    completes: Sequence[int],
    in_progress: Sequence[int],
    closed: Sequence[bool],
) -> list[CellStatus]:
    return [
        CellStatus(k.district, k.age_band, k.sex, int(t), int(c), int(p), bool(x))
        for k, t, c, p, x in zip(keys, target, completes, in_progress, closed, strict=True)
    ]
