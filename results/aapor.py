"""Outcome rates per the AAPOR Standard Definitions: RR1-RR6, COOP1-COOP4, REF1-REF3,
CON1-CON3, from each case's final disposition code. Pure.

Categories (telephone surveys): I complete (1.1), P partial (1.2), R refusal and break-off
(2.1), NC non-contact (2.2), O other eligible non-interview (2.3), UH unknown if household
(3.1, incl. 3.11 released and never dialled), UO unknown other (3.2-3.9), NE not eligible (4).
``e``, the eligible share of the unknowns, defaults to proportional allocation:
(I+P+R+NC+O) / (I+P+R+NC+O+NE).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    I = "I"  # noqa: E741 - AAPOR's own letter
    P = "P"
    R = "R"
    NC = "NC"
    O = "O"  # noqa: E741
    UH = "UH"
    UO = "UO"
    NE = "NE"


NOT_DIALLED = "3.11"
"""A released case never dialled: AAPOR's "not attempted or worked"."""

# When a case has several attempts, the most informative code decides its final disposition:
# an interview, then what is known of eligibility, then contacts before non-contacts.
_PRECEDENCE = (
    Category.I, Category.P, Category.NE, Category.R, Category.O, Category.NC, Category.UO,
    Category.UH,
)  # fmt: skip

RATES = (
    "RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "COOP1", "COOP2", "COOP3", "COOP4",
    "REF1", "REF2", "REF3", "CON1", "CON2", "CON3",
)  # fmt: skip


def category(code: str) -> Category:
    """The category of an AAPOR final disposition code such as ``2.11``."""
    major, _, minor = code.partition(".")
    if major == "1" and minor in ("0", "1"):
        return Category.I
    if major == "1" and minor == "2":
        return Category.P
    if major == "2" and minor[:1] in ("0", "1"):
        return Category.R
    if major == "2" and minor[:1] == "2":
        return Category.NC
    if major == "2" and minor[:1] == "3":
        return Category.O
    if major == "3" and minor[:1] in ("0", "1"):
        return Category.UH
    if major == "3" and minor[:1].isdigit():
        return Category.UO
    if major == "4" and minor[:1].isdigit():
        return Category.NE
    raise ValueError(f"not an AAPOR final disposition code: {code!r}")


NON_WORKING = "4.31"
"""The dialer's own reading of a call that failed before any answer (a dead number's
cause). Unlike the operators' ineligible codes it is no finding about a person: a person's
answer on another attempt proves the number works, and outranks it."""


def final_code(codes: Iterable[str]) -> str:
    """A case's final code from its attempts' codes (none: the case was never dialled)."""
    ranked = sorted(codes, key=_rank)
    return ranked[0] if ranked else NOT_DIALLED


def _rank(code: str) -> float:
    if code == NON_WORKING:  # after contacts and answers, before the calls nobody answered
        return _PRECEDENCE.index(Category.UO) + 0.5
    return _PRECEDENCE.index(category(code))


@dataclass(frozen=True, slots=True)
class Counts:
    """Cases by category."""

    i: int = 0
    p: int = 0
    r: int = 0
    nc: int = 0
    o: int = 0
    uh: int = 0
    uo: int = 0
    ne: int = 0

    @classmethod
    def of(cls, final_codes: Iterable[str]) -> Counts:
        """Counts of cases given each case's final code."""
        tally = Counter(category(code) for code in final_codes)
        return cls(*(tally[c] for c in Category))

    @property
    def cases(self) -> int:
        return self.i + self.p + self.r + self.nc + self.o + self.uh + self.uo + self.ne

    def eligibility(self) -> float | None:
        """``e`` by proportional allocation; None when no case's eligibility is known."""
        known = self.i + self.p + self.r + self.nc + self.o
        return _ratio(known, known + self.ne)


def rates(counts: Counts, e: float | None = None) -> dict[str, float | None]:
    """Every rate, by name (``RATES``); None where the denominator is 0. ``e`` defaults to
    ``counts.eligibility()`` (and to 1, every unknown eligible, when that is unknown too)."""
    if e is None:
        e = counts.eligibility()
    e = 1.0 if e is None else e
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"e must be between 0 and 1, not {e}")
    c = counts
    interviews = c.i + c.p
    eligible = interviews + c.r + c.nc + c.o
    unknown = c.uh + c.uo
    all_unknown, some_unknown = eligible + unknown, eligible + e * unknown
    contacted = interviews + c.r + c.o
    return {
        "RR1": _ratio(c.i, all_unknown),
        "RR2": _ratio(interviews, all_unknown),
        "RR3": _ratio(c.i, some_unknown),
        "RR4": _ratio(interviews, some_unknown),
        "RR5": _ratio(c.i, eligible),
        "RR6": _ratio(interviews, eligible),
        "COOP1": _ratio(c.i, contacted),
        "COOP2": _ratio(interviews, contacted),
        "COOP3": _ratio(c.i, interviews + c.r),
        "COOP4": _ratio(interviews, interviews + c.r),
        "REF1": _ratio(c.r, all_unknown),
        "REF2": _ratio(c.r, some_unknown),
        "REF3": _ratio(c.r, eligible),
        "CON1": _ratio(contacted, all_unknown),
        "CON2": _ratio(contacted, some_unknown),
        "CON3": _ratio(contacted, eligible),
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None
