"""Phone numbers: parse what people write into E.164, with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers


def to_e164(text: str, region: str) -> str | None:
    """The number in E.164 (``+390187123456``), or None when it is not a valid number."""
    number = _valid(text, region)
    return None if number is None else _e164(number)


def _valid(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


RESPONDENT_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.VOIP,
    }
)
"""Numbers a household or a person answers; not services (premium rate, toll free, shared
cost, UAN), pagers or voicemail."""

_TYPE_NAMES = {
    value: name.lower().replace("_", " ")
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper()
}


class NumberRefused(ValueError):
    """A frame's number that is not a respondent's: ``foreign`` tells which check refused it."""

    def __init__(self, detail: str, foreign: bool) -> None:
        super().__init__(detail)
        self.foreign = foreign


def respondent_e164(text: str, region: str) -> str | None:
    """A frame's number in E.164, or None when it is not a valid number at all; raises
    ``NumberRefused`` for a valid number no respondent of the survey has: another country's
    (the survey calls only its own region), or a service's (premium rate, toll free...)."""
    number = _valid(text, region)
    if number is None:
        return None
    if number.country_code != phonenumbers.country_code_for_region(region):
        raise NumberRefused(f"{text!r} is another country's (+{number.country_code})", True)
    kind = phonenumbers.number_type(number)
    if kind not in RESPONDENT_TYPES:
        raise NumberRefused(f"{text!r} is a {_TYPE_NAMES.get(kind, 'service')} number", False)
    return _e164(number)


def mask(e164: str, keep: int = 3) -> str:
    """Hide all but the last ``keep`` digits, for logs and screens."""
    if len(e164) <= keep:
        return "*" * len(e164)
    return "*" * (len(e164) - keep) + e164[-keep:]
