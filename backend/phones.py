"""Phone numbers as the product stores them: E.164, parsed with the configured default region."""
from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """A number that cannot be stored."""


def normalise_phone(raw: str, region: str) -> str:
    """Return raw as E.164, or raise PhoneError saying why."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("empty phone number")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"not a phone number ({exc.args[0] if exc.args else exc})") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str | None:
    """Hide the middle digits: +8613812345678 -> +86138****5678."""
    if not e164:
        return e164
    if len(e164) <= 8:
        return e164[:3] + "*" * (len(e164) - 3)
    return e164[:6] + "*" * (len(e164) - 10) + e164[-4:]
