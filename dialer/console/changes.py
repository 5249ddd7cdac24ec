"""Waking the operators' event streams when seats or interviews change."""

from __future__ import annotations

import asyncio


class Changes:
    """A broadcast: each ``notify`` wakes every waiter of the moment before it.

    A waiter takes ``current()`` before it reads the state, then waits on it: a change
    between the read and the wait still wakes it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()
