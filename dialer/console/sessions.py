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


@dataclass
class Sessions:
    """Live sessions. One seat has at most one session: a new login ends the old one."""

    lifetime: timedelta = timedelta(hours=10)
    """From login: a shift."""
    idle: timedelta = timedelta(minutes=30)
    """Without any request (the event stream counts)."""
    _live: dict[str, Session] = field(default_factory=dict)

    def open(self, seat: str, now: datetime) -> str:
        """A new session for ``seat``; returns its token."""
        self._live = {t: s for t, s in self._live.items() if s.seat != seat}
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
