"""Call outcomes, operators' dispositions, and their AAPOR final disposition codes.

Codes follow the AAPOR Standard Definitions (telephone surveys of households): 1 interviews,
2 eligible non-interviews, 3 unknown eligibility, 4 not eligible.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How an attempt's call ended, as the dialer sees it."""

    CONNECTED = "connected"  # answered and put through to an operator
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"  # network or trunk could not place the call
    FAILED = "failed"  # the number does not work (e.g. unallocated)
    MACHINE = "machine"  # answering machine detected
    ABANDONED = "abandoned"  # a person answered and no operator was free in time


class Disposition(StrEnum):
    """What the operator records at the end of a connected call."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    REFUSAL = "refusal"
    BREAK_OFF = "break_off"
    CALLBACK = "callback"
    INELIGIBLE = "ineligible"  # no eligible respondent
    OVER_QUOTA = "over_quota"
    LANGUAGE = "language"
    UNABLE = "unable"  # physically or mentally unable
    BUSINESS = "business"  # not a residence
    FAX = "fax"  # fax or data line
    WRONG_NUMBER = "wrong_number"
    ANSWERING_MACHINE = "answering_machine"
    """The operator reached an answering machine (detection off, or it took it for a
    person): tried again as after no answer."""


AAPOR_BY_OUTCOME: dict[Outcome, str] = {
    Outcome.BUSY: "3.12",
    Outcome.NO_ANSWER: "3.13",
    Outcome.MACHINE: "3.14",
    Outcome.CONGESTION: "3.16",  # technical phone problems
    Outcome.FAILED: "4.31",  # non-working number
    Outcome.ABANDONED: "3.21",  # answered, no screener completed
}

AAPOR_BY_DISPOSITION: dict[Disposition, str] = {
    Disposition.COMPLETE: "1.1",
    Disposition.PARTIAL: "1.2",
    Disposition.REFUSAL: "2.11",
    Disposition.BREAK_OFF: "2.12",
    Disposition.CALLBACK: "2.21",  # respondent not available now
    Disposition.UNABLE: "2.32",
    Disposition.LANGUAGE: "2.33",
    Disposition.BUSINESS: "4.51",
    Disposition.FAX: "4.20",
    Disposition.WRONG_NUMBER: "4.32",
    Disposition.ANSWERING_MACHINE: "3.14",  # as a machine detected: household unknown
    Disposition.INELIGIBLE: "4.70",
    Disposition.OVER_QUOTA: "4.80",
}

FINAL_DISPOSITIONS = frozenset(
    {
        Disposition.COMPLETE,
        Disposition.PARTIAL,
        Disposition.REFUSAL,
        Disposition.BREAK_OFF,
        Disposition.INELIGIBLE,
        Disposition.OVER_QUOTA,
        Disposition.LANGUAGE,
        Disposition.UNABLE,
        Disposition.BUSINESS,
        Disposition.FAX,
        Disposition.WRONG_NUMBER,
    }
)
"""Dispositions after which a case is never called again."""


def aapor_code(outcome: Outcome, disposition: Disposition | None = None) -> str:
    """The AAPOR code of one attempt: the operator's disposition when the call was connected."""
    if outcome is Outcome.CONNECTED:
        if disposition is None:
            raise ValueError("a connected call needs the operator's disposition")
        return AAPOR_BY_DISPOSITION[disposition]
    return AAPOR_BY_OUTCOME[outcome]
