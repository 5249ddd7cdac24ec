"""structlog set-up: readable console lines in a terminal, JSON lines otherwise."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog

from sampling.phone import mask

# A phone number inside any logged text (a channel name, an AMI message): 7 to 15 digits,
# optionally after +, standing alone. Ids are safe: UUID groups touch a hyphen or a letter,
# AMI timestamps a dot.
_NUMBER = re.compile(r"(?<![\w.-])\+?\d{7,15}(?![\w.-])")
_DIGITS = re.compile(r"\d{7}")  # what every match holds


def mask_text(text: str) -> str:
    """``text`` with every phone number in it masked to its last 3 digits."""
    return _NUMBER.sub(_masked, text)


def mask_numbers(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask every phone number in the event's text to its last 3 digits, whoever logs it."""
    for key, value in event.items():
        # shorter holds no number; a run of 7 digits is looked for first, a fifth of the cost
        if isinstance(value, str) and len(value) >= 7 and _DIGITS.search(value):
            event[key] = _NUMBER.sub(_masked, value)
    return event


def add_timestamp(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The time, ISO 8601 in UTC to the microsecond (``2026-11-23T09:00:00.250000Z``), as
    structlog's ``TimeStamper(fmt="iso", utc=True)`` writes it, with the date and the whole
    seconds formatted once a second: the stamp cost a third as much (bench/metrics_cost.py)."""
    global _second  # one tuple, swapped whole: no thread sees half of it
    second, micro = divmod(round(time.time() * 1e6), 1_000_000)
    cached = _second
    if second != cached[0]:
        cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    event["timestamp"] = f"{cached[1]}.{micro:06d}Z"
    return event


_second: tuple[int, str] = (-1, "")  # the last whole second stamped, and its text


def _dumps(event: Any, **kw: Any) -> str:
    """orjson for the JSON lines: a log line costs two thirds of ``json.dumps``' line
    (bench/metrics_cost.py); any key, and anything else as its ``str``."""
    return orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS, **kw).decode()


def _masked(match: re.Match[str]) -> str:
    return mask(match.group())


def configure(
    json: bool | None = None, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Configure structlog for the process: to ``stream`` (default stderr, looked up at each
    call); ``json`` defaults to "the stream is not a terminal"."""
    target = stream
    as_json = (not (target or sys.stderr).isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if as_json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            mask_numbers,  # before the level and time stamp, which hold no number
            structlog.processors.add_log_level,
            add_timestamp,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Look stderr up at each call, so a replaced stream (tests, daemons) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(target or sys.stderr),
        cache_logger_on_first_use=False,
    )


def debug_enabled(logger: Any) -> bool:
    """Whether ``logger`` writes debug lines: a hot path builds the fields of its debug
    lines only then (building them cost more than the filtered call itself)."""
    enabled = getattr(logger, "is_enabled_for", None)
    return bool(enabled(logging.DEBUG)) if enabled is not None else True
