"""The calling window: weekday hours, Saturdays, Sundays, holidays and their eves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.schedule.holidays import easter_sunday, italian_holidays
from dialer.schedule.window import CallingWindow

ROME = ZoneInfo("Europe/Rome")
WINDOW = CallingWindow()


def rome(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ROME)


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
     (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25))],
)  # fmt: skip
def test_easter_dates(year: int, easter: date) -> None:
    """Easter Sunday matches the published dates."""
    assert easter == easter_sunday(year)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (rome(2026, 11, 23, 8, 59), False),  # Monday before 09:00
        (rome(2026, 11, 23, 9, 0), True),
        (rome(2026, 11, 23, 19, 59), True),
        (rome(2026, 11, 23, 20, 0), False),
        (rome(2026, 11, 28, 9, 30), False),  # Saturday opens at 10:00
        (rome(2026, 11, 28, 18, 59), True),
        (rome(2026, 11, 28, 19, 0), False),
        (rome(2026, 11, 29, 12, 0), False),  # Sunday
        (rome(2026, 12, 8, 12, 0), False),  # Immacolata, a Tuesday
        (rome(2026, 12, 7, 19, 30), False),  # its eve closes at 19:00
        (rome(2026, 12, 7, 9, 30), False),  # and opens at 10:00
        (rome(2026, 12, 7, 10, 30), True),
        (rome(2026, 4, 6, 12, 0), False),  # Easter Monday
    ],
)
def test_is_open(moment: datetime, open_: bool) -> None:
    """The default window follows the Italian rules, in Rome's local time."""
    assert open_ == WINDOW.is_open(moment)


def test_is_open_uses_local_time_across_daylight_saving() -> None:
    """Rome local time decides: 08:30 UTC is open in winter (09:30), 07:30 UTC is not."""
    assert WINDOW.is_open(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    assert not WINDOW.is_open(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))
    assert WINDOW.is_open(datetime(2026, 6, 15, 7, 30, tzinfo=UTC))


def test_next_open_skips_sunday_and_holiday() -> None:
    """After Saturday's close, the next opening is Monday 09:00 (or later after a holiday)."""
    assert rome(2026, 11, 30, 9, 0) == WINDOW.next_open(rome(2026, 11, 28, 19, 30))
    # Friday 2026-12-25 and Saturday 26 are holidays, Sunday 27 closed: Monday 28 at 09:00.
    assert rome(2026, 12, 28, 9, 0) == WINDOW.next_open(rome(2026, 12, 24, 19, 30))


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)))
def test_next_open_is_open_and_not_earlier(naive: datetime) -> None:
    """Whatever the moment, the next opening is open and never before it."""
    now = naive.replace(tzinfo=UTC)
    nxt = WINDOW.next_open(now)
    assert nxt >= now
    assert WINDOW.is_open(nxt)


def test_configured_window_and_extra_closed_day() -> None:
    """A window with Sunday hours and an extra closed day (a local patron saint) is honoured."""
    window = CallingWindow(
        weekdays=((time(9), time(20)),) * 7, extra_closed=frozenset({date(2026, 3, 19)})
    )
    assert window.is_open(rome(2026, 11, 29, 12, 0))
    assert not window.is_open(rome(2026, 3, 19, 12, 0))  # San Giuseppe, La Spezia's patron
    assert date(2026, 6, 2) in italian_holidays(2026)
