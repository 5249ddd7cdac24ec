"""Checking TOML configuration: every error names the key at fault."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sampling.errors import ConfigError

T = TypeVar("T")


def read_toml(path: Path, error: Callable[[str, str], ConfigError]) -> dict[str, Any]:
    """The TOML document in ``path``; an unreadable or invalid file is ``error(path, why)``."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(str(path), f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(str(path), f"not valid TOML: {exc}") from None


def check_keys(doc: Mapping[str, Any], sections: Mapping[str, set[str]]) -> None:
    """Every section and key must be known: a typo is an error, not a silent default."""
    for section, value in doc.items():
        if section not in sections:
            raise ConfigError(section, f"unknown section (known: {', '.join(sections)})")
        if not isinstance(value, dict):
            raise ConfigError(section, "must be a table")
        for key in value:
            if key not in sections[section]:
                known = ", ".join(sorted(sections[section]))
                raise ConfigError(f"{section}.{key}", f"unknown key (known: {known})")


def table(doc: Mapping[str, Any], name: str, required: bool = False) -> dict[str, Any]:
    if name not in doc:
        if required:
            raise ConfigError(name, "section is missing")
        return {}
    value: dict[str, Any] = doc[name]
    return value


def required(table: Mapping[str, Any], key: str, kind: type[T]) -> T:
    """The value of dotted ``key`` (its last part looked up in ``table``); missing is an error."""
    short = key.rsplit(".", 1)[1]
    if short not in table:
        raise ConfigError(key, "is required")
    return typed(table[short], key, kind)


def optional(table: Mapping[str, Any], key: str, kind: type[T], default: T) -> T:
    """The value of dotted ``key``, or ``default`` when absent."""
    short = key.rsplit(".", 1)[1]
    return typed(table[short], key, kind) if short in table else default


def typed(value: Any, key: str, kind: type[T]) -> T:
    """``value`` as ``kind`` (an int is accepted as a float), else an error naming ``key``."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(key, f"must be {kind.__name__}, not {type(value).__name__}")
    return value


def bounded(
    section: Mapping[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    above: bool = True,
) -> float:
    """The number at dotted ``key`` (``default`` when absent): more than ``low`` (at least
    ``low`` when not ``above``) and at most ``high``, so finite; else an error naming it."""
    value = optional(section, key, float, default)
    if not (value > low if above else value >= low) or not value <= high:  # False for nan
        least = f"more than {low:g}" if above else f"at least {low:g}"
        raise ConfigError(key, f"must be {least} and at most {high:g}, not {value:g}")
    return value


def positive_int(value: Any, key: str) -> int:
    number = typed(value, key, int)
    if number < 1:
        raise ConfigError(key, f"must be at least 1, not {number}")
    return number
