"""When answering-machine detection must be suspended: its false positives alone near the cap
(pure).

Ofcom counts the people detection hangs up on as abandoned calls. Once the campaign's estimate
of them takes most of the cap, no pacing keeps the rate under it (the predictive pacer is
already dialling progressively): every further verdict adds to the window. So detection is
suspended, machines then reach operators (who code them ``answering_machine``), until new
answers have diluted the window's estimate to half the cap.
"""

from __future__ import annotations

SUSPEND_AT = 0.8
"""The share of the cap the estimate alone may take before detection is suspended."""
RESUME_AT = 0.5
"""The share it must fall to before detection is on again (a gap, so it does not flap)."""
MIN_WINDOW_ANSWERS = 30.0
"""Live answers the window needs before its shares decide anything (as for the pacer)."""


def detection_suspended(suspended: bool, amd_abandons: float, answers: float, cap: float) -> bool:
    """Whether detection is suspended now, given whether it was, the abandons the estimate
    adds to the regulatory window, the window's live answers and the cap."""
    if answers < MIN_WINDOW_ANSWERS or cap <= 0:
        return suspended
    share = share_of_cap(amd_abandons, answers, cap)
    if share >= SUSPEND_AT:
        return True
    if share <= RESUME_AT:
        return False
    return suspended


def share_of_cap(amd_abandons: float, answers: float, cap: float) -> float:
    """The share of the cap the estimate's abandons take of the window's rate (0 for an
    empty window or no cap)."""
    return amd_abandons / answers / cap if answers > 0 and cap > 0 else 0.0


def suspended_at_start(amd_abandons: float, answers: float, cap: float) -> bool:
    """A start's first judgement, from the recalled window: suspended unless the window is
    too small to judge or the estimate's part is down to ``RESUME_AT`` (a run stopped in the
    gap between the two may have had detection suspended: kept so)."""
    if answers < MIN_WINDOW_ANSWERS:
        return False
    return detection_suspended(True, amd_abandons, answers, cap)
