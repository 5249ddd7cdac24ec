"""An operator's disposition of a connected call: checked, and what it does to the case (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialer.disposition import Disposition
from sampling.cells import CellGrid, CellKey

CASE_RESULT: dict[Disposition, str] = {
    Disposition.COMPLETE: "complete",
    Disposition.PARTIAL: "other",
    Disposition.REFUSAL: "refusal",
    Disposition.BREAK_OFF: "refusal",
    Disposition.INELIGIBLE: "ineligible",
    Disposition.BUSINESS: "ineligible",
    Disposition.FAX: "ineligible",
    Disposition.WRONG_NUMBER: "ineligible",
    Disposition.OVER_QUOTA: "over_quota",
    Disposition.LANGUAGE: "other",
    Disposition.UNABLE: "other",
}
"""The case's final result for each final disposition; a callback leaves the case open."""


@dataclass(frozen=True, slots=True)
class OperatorDisposition:
    """What the operator posts at the end of a call."""

    disposition: Disposition
    district: str | None = None
    age_band: str | None = None
    sex: str | None = None
    callback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckedDisposition:
    disposition: Disposition
    verified: CellKey | None
    callback_at: datetime | None

    @property
    def case_result(self) -> str | None:
        """The case's final result; None when the case is to be called again."""
        return CASE_RESULT.get(self.disposition)


class DispositionError(Exception):
    """A disposition that cannot be taken; names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check(entry: OperatorDisposition, grid: CellGrid, now: datetime) -> CheckedDisposition:
    """A complete needs the respondent's verified district, age band and sex, each one of the
    survey's; a callback needs a time zone-aware moment in the future."""
    verified = None
    if entry.disposition is Disposition.COMPLETE:
        verified = CellKey(
            _one_of(entry.district, grid.districts, "district"),
            _one_of(entry.age_band, tuple(b.label for b in grid.age_bands), "age_band"),
            _one_of(entry.sex, grid.sexes, "sex"),
        )
    callback = entry.callback_at
    if entry.disposition is Disposition.CALLBACK:
        if callback is None:
            raise DispositionError("callback_at", "a callback needs the time agreed")
        if callback.tzinfo is None:
            raise DispositionError("callback_at", "give the time with its UTC offset")
        if callback <= now:
            raise DispositionError("callback_at", f"{callback.isoformat()} is in the past")
    elif callback is not None:
        raise DispositionError(
            "callback_at", f"only a callback takes a time, not a {entry.disposition.value}"
        )
    return CheckedDisposition(entry.disposition, verified, callback)


def _one_of(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value is None or not value.strip():
        raise DispositionError(field, "a complete needs the respondent's verified " + field)
    if value not in allowed:
        raise DispositionError(field, f"{value!r} is not one of {', '.join(allowed)}")
    return value
