"""What an operator's screen shows: the seat's state and, on a call, the case. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialer.campaign.selection import CaseView
from dialer.seats import SeatBoard
from questionnaire.model import Questionnaire
from sampling.cells import CellGrid
from sampling.phone import mask


@dataclass(frozen=True, slots=True)
class CaseCard:
    """The case as the operator needs it: never more of the number than its last digits."""

    call_id: str
    case_id: int
    phone: str
    """Masked to the last 3 digits: the dialer dials, the operator only confirms it."""
    frame: dict[str, Any]
    """The frame's district, age band and sex (and age), to be confirmed with the respondent."""
    attempts: list[dict[str, Any]]
    callback_note: str | None
    introduction: dict[str, str]
    admitted: bool
    """False when the case's quota cell was full as the call came in: thank and close."""


@dataclass(frozen=True, slots=True)
class SeatView:
    seat: str
    state: str
    since: str | None
    pause_reason: str | None
    pause_after: str | None
    call: CaseCard | None
    hung_up: bool
    """The callee is gone: the operator is in wrap-up, the disposition still owed."""


def case_card(
    call_id: str,
    case: CaseView,
    grid: CellGrid,
    questionnaire: Questionnaire | None,
    admitted: bool,
) -> CaseCard:
    key = grid.cells()[case.cell]
    frame: dict[str, Any] = {"district": key.district, "age_band": key.age_band, "sex": key.sex}
    if "age" in case.attributes:
        frame["age"] = case.attributes["age"]
    attempts = [
        {
            "started": a.started.isoformat(),
            "outcome": a.outcome.value,
            "disposition": a.disposition.value if a.disposition else None,
            "callback_at": a.callback_at.isoformat() if a.callback_at else None,
            "note": a.note,
        }
        for a in case.history
    ]
    last = case.history[-1] if case.history else None
    note = last.note if last is not None and last.callback_at is not None else None
    intro = (
        {"it": questionnaire.introduction.it, "en": questionnaire.introduction.en}
        if questionnaire
        else {"it": "", "en": ""}
    )
    return CaseCard(call_id, case.case_id, mask(case.phone), frame, attempts, note, intro, admitted)


def seat_view(seat_id: str, board: SeatBoard, card: CaseCard | None, on_the_line: bool) -> SeatView:
    """The seat's screen: logged out, or its state with the call awaiting its disposition."""
    seat = board.seats.get(seat_id)
    if seat is None:
        return SeatView(seat_id, "logged_out", None, None, None, None, False)
    state = seat.state.value if seat.line else "no_line"
    return SeatView(
        seat_id, state, seat.since.isoformat(), seat.pause_reason, seat.pause_after, card,
        card is not None and not on_the_line,
    )  # fmt: skip
