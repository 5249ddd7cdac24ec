"""The calling window: on which local days and hours a number may be dialled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.schedule.holidays import italian_holidays

Span = tuple[time, time]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Opening hours per weekday in a time zone, with holidays closed.

    The default is Italy's 2024 telemarketing code, a sensible default for surveys too:
    09:00-20:00 Monday to Friday, 10:00-19:00 on Saturdays and on the day before a holiday,
    never on Sundays or public holidays (Europe/Rome).
    """

    timezone: str = "Europe/Rome"
    weekdays: tuple[Span | None, ...] = (
        *((time(9), time(20)),) * 5,
        (time(10), time(19)),
        None,
    )
    eve_of_holiday: Span | None = (time(10), time(19))
    holidays: Callable[[int], frozenset[date]] = italian_holidays
    extra_closed: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def always_open(cls) -> CallingWindow:
        """Every hour of every day: for demos and simulations, never for real callees."""
        return cls(
            weekdays=((time(0), time(23, 59, 59)),) * 7,
            eve_of_holiday=None,
            holidays=lambda _year: frozenset(),
        )

    def span(self, day: date) -> Span | None:
        """The hours open on a local date, or None when closed all day."""
        if self._closed(day):
            return None
        hours = self.weekdays[day.weekday()]
        if hours is None:
            return None
        if self.eve_of_holiday is not None and self._closed(day + timedelta(days=1)):
            # The shorter of the two: a Saturday eve stays Saturday's hours.
            start = max(hours[0], self.eve_of_holiday[0])
            end = min(hours[1], self.eve_of_holiday[1])
            return (start, end) if start < end else None
        return hours

    def is_open(self, now: datetime) -> bool:
        """Whether a call may be placed at ``now`` (an aware datetime)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        hours = self.span(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_open(self, now: datetime, horizon_days: int = 30) -> datetime:
        """``now`` if open, else the next opening; ``ValueError`` if none within the horizon."""
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            hours = self.span(day)
            if hours is None:
                continue
            start = datetime.combine(day, hours[0], zone)
            end = datetime.combine(day, hours[1], zone)
            if local < end:
                return max(start, local).astimezone(now.tzinfo)
        raise ValueError(f"the calling window has no opening within {horizon_days} days")

    def closes_at(self, now: datetime) -> datetime | None:
        """When the window open at ``now`` closes; None when it is closed."""
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        hours = self.span(local.date())
        if hours is None or not hours[0] <= local.time() < hours[1]:
            return None
        return datetime.combine(local.date(), hours[1], zone).astimezone(now.tzinfo)

    def _closed(self, day: date) -> bool:
        return day in self.extra_closed or day in self.holidays(day.year)
