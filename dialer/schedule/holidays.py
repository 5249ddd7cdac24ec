"""Public holidays, for the calling window: Italy's national ones by default."""

from __future__ import annotations

import functools
from datetime import date, timedelta

ITALY_FIXED = (
    (1, 1),  # Capodanno
    (1, 6),  # Epifania
    (4, 25),  # Festa della Liberazione
    (5, 1),  # Festa del Lavoro
    (6, 2),  # Festa della Repubblica
    (8, 15),  # Ferragosto
    (11, 1),  # Ognissanti
    (12, 8),  # Immacolata Concezione
    (12, 25),  # Natale
    (12, 26),  # Santo Stefano
)


def easter_sunday(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


@functools.lru_cache(maxsize=64)
def italian_holidays(year: int) -> frozenset[date]:
    """Italy's national public holidays in ``year`` (local patron saints' days are extra).
    Kept per year: the calling window asks twice for each released case's next call."""
    fixed = {date(year, month, day) for month, day in ITALY_FIXED}
    easter = easter_sunday(year)
    return frozenset(fixed | {easter, easter + timedelta(days=1)})
