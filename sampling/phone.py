"""Phone numbers: parse what people write into E.164, with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers


def to_e164(text: str, region: str) -> str | None:
    """The number in E.164 (``+390187123456``), or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str, keep: int = 3) -> str:
    """Hide all but the last ``keep`` digits, for logs and screens."""
    if len(e164) <= keep:
        return "*" * len(e164)
    return "*" * (len(e164) - keep) + e164[-keep:]
