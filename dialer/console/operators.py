"""Operators' secrets: one per seat, stored as scrypt hashes, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from pathlib import Path

from sampling.errors import ConfigError
from sampling.tomlkeys import read_toml

_N, _R, _P = 2**14, 8, 1  # scrypt cost: about 50 ms a check, 16 MiB


class OperatorsFileError(ConfigError):
    what = "operators file"


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>`` for ``secret``, with a new random salt by default."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` (as ``hash_secret`` wrote it) was made from."""
    try:
        scheme, salt, digest = stored.split("$")
        expected = bytes.fromhex(digest)
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    given = hashlib.scrypt(secret.encode("utf-8"), salt=salt_bytes, n=_N, r=_R, p=_P)
    return hmac.compare_digest(given, expected)


def load_operators(path: Path, seats: tuple[str, ...]) -> Mapping[str, str]:
    """Seat -> stored hash, from a TOML file of ``"7001" = "scrypt$..."`` lines; every key
    must be one of the campaign's seats and every value a hash."""
    doc = read_toml(path, OperatorsFileError)
    found = {}
    for seat, stored in doc.items():
        if seat not in seats:
            raise OperatorsFileError(seat, "is not one of the campaign's seats")
        if not isinstance(stored, str) or not stored.startswith("scrypt$"):
            raise OperatorsFileError(seat, "must be a hash made by `dialer console hash`")
        found[seat] = stored
    return found
