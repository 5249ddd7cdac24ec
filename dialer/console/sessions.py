"""Operators' sessions: a random token per login, bound to one seat, expiring. Pure: the
clock is passed in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class SessionError(Exception):
    """No session, or an expired one: the operator must log in again."""


@dataclass(frozen=True, slots=True)
class Session:
    seat: str
    started: datetime
    last_seen: datetime


class TooManyFailures(SessionError):
    """Too many wrong secrets for a seat from one address: logins wait a while."""


@dataclass
class Sessions:
    """Live sessions. One seat has at most one session: a new login ends the old one."""

    lifetime: timedelta = timedelta(hours=10)
    """From login: a shift."""
    idle: timedelta = timedelta(minutes=30)
    """Without any request. The open page's event stream counts: an operator waiting for
    calls makes no request, and is still at the seat."""
    max_failures: int = 5
    """Wrong secrets for one seat from one address before its logins wait ``lockout``."""
    lockout: timedelta = timedelta(minutes=5)
    _live: dict[str, Session] = field(default_factory=dict)
    _failures: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)

    def admit(self, seat: str, address: str, now: datetime) -> None:
        """``TooManyFailures`` while ``seat`` is locked for ``address``."""
        recent = self._recent((seat, address), now)
        if len(recent) >= self.max_failures:
            until = (min(recent) + self.lockout).isoformat(timespec="seconds")
            raise TooManyFailures(f"too many wrong secrets for seat {seat}: try after {until}")

    def failed(self, seat: str, address: str, now: datetime) -> None:
        """A wrong secret (or seat) from ``address``."""
        key = (seat, address)
        self._failures[key] = [*self._recent(key, now), now][-self.max_failures :]
        if len(self._failures) > 10_000:  # a flood of made-up seats: forget the oldest
            self._failures.pop(next(iter(self._failures)))

    def _recent(self, key: tuple[str, str], now: datetime) -> list[datetime]:
        """The failures from (seat, address) that still count."""
        return [t for t in self._failures.get(key, []) if now - t < self.lockout]

    def open(self, seat: str, now: datetime) -> str:
        """A new session for ``seat``; returns its token."""
        self._live = {t: s for t, s in self._live.items() if s.seat != seat}
        self._failures = {k: v for k, v in self._failures.items() if k[0] != seat}
        token = secrets.token_urlsafe(32)
        self._live[token] = Session(seat, now, now)
        return token

    def seat(self, token: str | None, now: datetime) -> str:
        """The seat of a live session (and the session is seen now), or ``SessionError``."""
        session = self._live.get(token or "")
        if session is None:
            raise SessionError("not logged in")
        if now - session.started > self.lifetime or now - session.last_seen > self.idle:
            del self._live[token or ""]
            raise SessionError("the session has expired: log in again")
        self._live[token or ""] = Session(session.seat, session.started, now)
        return session.seat

    def close(self, token: str | None) -> None:
        self._live.pop(token or "", None)
