"""The retry policy: when a case is called next, from its attempt history and the time now.

Pure: the history and ``now`` come in, a time (or None, never again) goes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.disposition import FINAL_DISPOSITIONS, Disposition, Outcome
from dialer.schedule.window import CallingWindow

UNREACHED = frozenset({Outcome.NO_ANSWER, Outcome.MACHINE})


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One past attempt, as scheduling needs it."""

    started: datetime
    outcome: Outcome
    disposition: Disposition | None = None
    callback_at: datetime | None = None
    note: str | None = None
    """The operator's note, e.g. who to ask for at the callback."""
    ended: datetime | None = None
    """When the attempt ended: an abandoned call's quiet runs from the abandon, which comes
    up to the ring timeout and the 2 s wait after the dial."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how soon a case is tried again."""

    max_attempts: int = 6
    busy_delay: timedelta = timedelta(minutes=15)
    unreached_delay: timedelta = timedelta(hours=2)
    """After no answer or a machine: at least this long, and in another part of the day."""
    congestion_delay: timedelta = timedelta(minutes=30)
    abandoned_quiet: timedelta = timedelta(hours=72)
    """No redial for this long after an abandoned call (UK Ofcom: 72 hours)."""
    machine_quiet: timedelta = timedelta(hours=24)
    """No redial for this long after answering-machine detection judged the call a machine
    (UK Ofcom: within 24 hours only with an operator guaranteed, which a predictive dialer
    does not give; the verdict may have been a person hung up on)."""
    day_parts: tuple[time, ...] = (time(13), time(17))
    """Boundaries splitting the day into parts (morning, afternoon, evening)."""


def next_call(
    history: Sequence[AttemptRecord],
    now: datetime,
    policy: RetryPolicy,
    window: CallingWindow,
) -> datetime | None:
    """When to call the case next (at the earliest ``now``, always inside the window), or None."""
    if not history:
        return window.next_open(now)
    last = history[-1]
    if last.disposition in FINAL_DISPOSITIONS or last.outcome is Outcome.FAILED:
        return None
    if last.disposition is Disposition.CALLBACK and last.callback_at is not None:
        earliest = max(last.callback_at, now)  # an appointment is kept whatever the count
    elif len(history) >= policy.max_attempts:
        return None
    else:
        earliest = max(now, last.started + _delay(last, policy))
    for attempt in history:
        quiet = _QUIET.get(attempt.outcome)
        if quiet is not None:
            earliest = max(earliest, (attempt.ended or attempt.started) + quiet(policy))
    candidate = window.next_open(earliest)
    if _unreached(last):
        tried = {_day_part(a.started, policy, window) for a in history if _unreached(a)}
        candidate = _untried_part(candidate, tried, policy, window)
    return candidate


def _unreached(attempt: AttemptRecord) -> bool:
    """No answer, or a machine: detected, or reached by the operator."""
    return attempt.outcome in UNREACHED or attempt.disposition is Disposition.ANSWERING_MACHINE


_QUIET = {
    Outcome.ABANDONED: lambda policy: policy.abandoned_quiet,
    Outcome.MACHINE: lambda policy: policy.machine_quiet,
}
"""The outcomes after which a number rests, from the attempt's end, whatever came after."""


def _delay(last: AttemptRecord, policy: RetryPolicy) -> timedelta:
    outcome = last.outcome
    if outcome is Outcome.BUSY:
        return policy.busy_delay
    if _unreached(last):
        return policy.unreached_delay
    if outcome is Outcome.ABANDONED:
        return policy.abandoned_quiet
    return policy.congestion_delay


def _day_part(moment: datetime, policy: RetryPolicy, window: CallingWindow) -> int:
    local = moment.astimezone(ZoneInfo(window.timezone)).time()
    return sum(local >= boundary for boundary in policy.day_parts)


def _untried_part(
    candidate: datetime, tried: set[int], policy: RetryPolicy, window: CallingWindow
) -> datetime:
    """The first open moment from ``candidate`` in a part of the day not tried yet.

    Once every part has been tried, any part will do.
    """
    parts = len(policy.day_parts) + 1
    if len(tried) >= parts:
        return candidate
    zone = ZoneInfo(window.timezone)
    moment = candidate
    for _ in range(parts * 8):  # a week of days is plenty to find an untried part
        if _day_part(moment, policy, window) not in tried:
            return moment
        local = moment.astimezone(zone)
        later = [b for b in policy.day_parts if b > local.time()]
        if later:
            jump = datetime.combine(local.date(), later[0], zone)
        else:
            jump = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
        moment = window.next_open(jump)
    return candidate
