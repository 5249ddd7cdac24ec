"""structlog set-up: readable console lines in a terminal, JSON lines otherwise."""

from __future__ import annotations

import dataclasses
import io
import logging
import re
import sys
import threading
import time
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from datetime import date, timedelta
from datetime import time as clock_time
from enum import Enum
from typing import Any, TextIO
from uuid import UUID

import orjson
import structlog
from structlog.dev import ConsoleRenderer, plain_traceback
from structlog.processors import add_log_level, format_exc_info

# A phone number inside any logged text (a channel name, an AMI message): 7 to 15 digits,
# optionally after +, standing alone. Ids are safe: UUID groups touch a hyphen or a letter,
# AMI timestamps a dot. ASCII text, most of it, is searched for ASCII digits (Unicode's \d
# made the search a third slower: bench/metrics_cost.py); other text for any script's.
_NUMBER = re.compile(r"(?<![\w.-])\+?[0-9]{7,15}(?![\w.-])")
_DIGITS = re.compile(r"[0-9]{7}")  # what every match holds
_ANY_NUMBER = re.compile(r"(?<![\w.-])\+?\d{7,15}(?![\w.-])")
_ANY_DIGITS = re.compile(r"\d{7}")  # any script's digits (fullwidth, Arabic-Indic)


def mask_text(text: str) -> str:
    """``text`` with every phone number in it masked to its last 3 digits."""
    return (_NUMBER if text.isascii() else _ANY_NUMBER).sub(_masked, text)


def mask_numbers(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask every phone number in the event's text to its last 3 digits, whoever logs it:
    in its strings, in the strings of its lists, tuples, sets and mappings at any depth,
    and in the text of any other object (a case logged whole writes its number)."""
    for key, value in event.items():
        if type(value) in _PLAIN:
            continue
        if isinstance(value, str):
            event[key] = _masked_str(value)
        elif key != "exc_info":  # the console renders it: its traceback is masked there
            event[key] = _masked_value(value)
    return event


_PLAIN = frozenset({int, float, bool, type(None)})
"""Types whose values never hold a phone number's text (an int id is not one: numbers are
logged as text)."""
_OPAQUE = (date, clock_time, timedelta, UUID)
"""Written as themselves (ISO text, the id): no number in them."""


def _masked_str(value: str) -> str:
    # Shorter, or letters only (most names: "attempt", "connected"), holds no number;
    # then a run of 7 digits is looked for first, at a fifth of the cost of the number.
    if (
        len(value) >= 7
        and not value.isalpha()
        and (_DIGITS if value.isascii() else _ANY_DIGITS).search(value)
    ):
        return mask_text(value)
    return value


def _masked_value(value: Any, depth: int = 0) -> Any:
    """``value`` with its numbers masked: containers rebuilt (mappings and dataclasses as
    dicts, whose text keys are masked too; the rest as lists), anything else left as it is
    unless its text holds a number, then its masked text (``repr``, or ``__structlog__``:
    what the JSON and console lines write for it). Past a depth of 8, anything is its
    masked text."""
    if type(value) in _PLAIN or isinstance(value, _OPAQUE):
        return value
    if isinstance(value, Enum):  # written as its value
        inner = value.value
        return _masked_str(inner) if isinstance(inner, str) else _masked_value(inner, depth + 1)
    if isinstance(value, str):
        return _masked_str(value)
    if depth < 8:
        if isinstance(value, Mapping):
            return {_masked_key(k): _masked_value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [_masked_value(v, depth + 1) for v in value]
    try:
        if depth < 8 and dataclasses.is_dataclass(value) and not isinstance(value, type):
            # every field: orjson writes them all, a repr may hide some
            fields = dataclasses.fields(value)
            return {f.name: _masked_value(getattr(value, f.name), depth + 1) for f in fields}
    except Exception:  # a log line must not fail on what it names
        return _no_text(value)
    text = _text(value)
    masked = _masked_str(text)
    return value if masked == text else masked


def _text(value: Any) -> str:
    """What a line writes for an object it cannot write as itself (``__structlog__``, or
    its repr), or a placeholder naming its type when that fails."""
    try:
        own = getattr(value, "__structlog__", None)
        return str(own()) if own is not None else repr(value)
    except Exception:  # a log line must not fail on what it names
        return _no_text(value)


def _no_text(value: Any) -> str:
    return f"<{type(value).__name__}: no text>"


def _masked_key(key: Any) -> Any:
    """A mapping's key: a number as it is, anything else as its masked text (a tuple or a
    timedelta key made the JSON line, and with it the log call, fail)."""
    if type(key) in _PLAIN:
        return key
    return _masked_str(key if isinstance(key, str) else str(key))


def _masked_traceback(sio: TextIO, exc_info: Any) -> None:
    """The console's traceback, plain and with its numbers masked (its exception messages
    name channels and dial strings)."""
    plain = io.StringIO()
    plain_traceback(plain, exc_info)
    sio.write(mask_text(plain.getvalue()))


_BOUND: ContextVar[tuple[tuple[str, Any], ...]] = ContextVar("dialer_log_fields", default=())


def bind(**fields: Any) -> None:
    """Name ``fields`` in every line logged from now on in this context (this task and the
    tasks it starts): the campaign, for every component's lines during its run."""
    _BOUND.set(tuple({**dict(_BOUND.get()), **fields}.items()))


def unbind_all() -> None:
    _BOUND.set(())


def merge_bound(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The fields ``bind`` named, unless the line names them itself (structlog's
    ``merge_contextvars`` copied and walked the whole context: a tenth of a line)."""
    for key, value in _BOUND.get():
        event.setdefault(key, value)
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


def json_line(logger: Any, method: str, event: MutableMapping[str, Any]) -> str:
    """A JSON line's one processor: the bound fields, a traceback as text, its numbers
    masked, then the level (as structlog's ``add_log_level`` names it), the time stamp and
    the line (orjson: two thirds of ``json.dumps``' cost; any key, anything else as its
    ``repr``). One processor, not six: each cost up to a tenth of a log line on the event
    path (bench/metrics_cost.py)."""
    merge_bound(logger, method, event)
    if "exc_info" in event:
        format_exc_info(logger, method, event)
    mask_numbers(logger, method, event)
    event["level"] = _LEVELS.get(method, method)
    add_timestamp(logger, method, event)
    try:
        return orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS, default=_unknown).decode()
    except TypeError:  # what orjson refuses outright: an aware time, an int past 64 bits
        return orjson.dumps({str(k): _as_text(v) for k, v in event.items()}).decode()


def _as_text(value: Any) -> Any:
    """A value orjson may refuse, as its masked text (text as it is: already masked)."""
    return value if isinstance(value, str) else mask_text(_text(value))


def _unknown(value: Any) -> Any:
    """What orjson cannot write, as structlog's JSONRenderer writes it."""
    own = getattr(value, "__structlog__", None)
    return own() if own is not None else repr(value)


_LEVELS = {"warn": "warning", "exception": "error"}


class LineWriter:
    """Writes each line to a text stream in one write, then flushes (structlog's
    ``PrintLogger`` prints the line and its newline apart: a tenth of a log line)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def msg(self, line: str) -> None:
        with _WRITING:
            self._stream.write(line + "\n")
            self._stream.flush()

    log = debug = info = warn = warning = error = err = critical = exception = fatal = msg


_WRITING = threading.Lock()  # threads' lines stay whole


def _masked(match: re.Match[str]) -> str:
    """``sampling.phone.mask`` of the match, inline: it runs for every number logged."""
    found = match[0]
    return "*" * (len(found) - 3) + found[-3:]


def configure(
    json: bool | None = None, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Configure structlog for the process: to ``stream`` (default stderr, looked up at each
    call); ``json`` defaults to "the stream is not a terminal"."""
    target = stream
    as_json = (not (target or sys.stderr).isatty()) if json is None else json
    # masked before the level and time stamp, which hold no number (the console renders
    # its own traceback, masked)
    processors: list[Any] = (
        [json_line]
        if as_json
        else [
            merge_bound,
            mask_numbers,
            add_log_level,
            add_timestamp,
            ConsoleRenderer(exception_formatter=_masked_traceback),
        ]
    )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Look stderr up at each call, so a replaced stream (tests, daemons) is honoured.
        logger_factory=lambda *_: LineWriter(target or sys.stderr),
        cache_logger_on_first_use=False,
    )


def debug_enabled(logger: Any) -> bool:
    """Whether ``logger`` writes debug lines: a hot path builds the fields of its debug
    lines only then (building them cost more than the filtered call itself)."""
    enabled = getattr(logger, "is_enabled_for", None)
    return bool(enabled(logging.DEBUG)) if enabled is not None else True
