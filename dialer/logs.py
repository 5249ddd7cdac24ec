"""structlog set-up: readable console lines in a terminal, JSON lines otherwise."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


def configure(
    json: bool | None = None, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Configure structlog for the process: to ``stream`` (default stderr, looked up at each
    call); ``json`` defaults to "the stream is not a terminal"."""
    target = stream
    as_json = (not (target or sys.stderr).isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Look stderr up at each call, so a replaced stream (tests, daemons) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(target or sys.stderr),
        cache_logger_on_first_use=False,
    )
