"""Input limits every feature's schemas share: what the database and the calendar can hold.

Beyond these a value cannot name a row or be stored, so it is refused as a 422 naming the field
instead of failing in PostgreSQL (integer out of range, year 0, NUL in text) as a 500.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

# PostgreSQL `integer`: every id column a client can name, and the largest page or offset we accept.
INT_MAX = 2**31 - 1
# Operational moments (visits, check-ins, calls, payments) fall well inside this; a day's or a
# year's arithmetic on them then never leaves the range Python and PostgreSQL can represent.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def _with(kwargs: dict, validator) -> dict:
    given = kwargs.get("validate")
    given = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
    return {**kwargs, "validate": [validator, *given]}


def id_field(**kwargs) -> fields.Integer:
    """The id of a stored row: a positive integer that fits an integer column."""
    return fields.Integer(**_with(kwargs, validate.Range(min=1, max=INT_MAX)))


def count_field(**kwargs) -> fields.Integer:
    """A page number or offset: bounded above so OFFSET arithmetic cannot overflow."""
    return fields.Integer(**_with(kwargs, validate.Range(max=INT_MAX)))


def _in_calendar(value) -> None:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")


def moment_field(**kwargs) -> fields.AwareDateTime:
    """An ISO 8601 timestamp with offset, within the years we can store and compute with."""
    return fields.AwareDateTime(**_with(kwargs, _in_calendar))


def day_field(**kwargs) -> fields.Date:
    """An ISO 8601 date within the years we can store and compute with."""
    return fields.Date(**_with(kwargs, _in_calendar))


def unstorable_text(value: str) -> str | None:
    """Say why PostgreSQL cannot store this text (a NUL, a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (a lone surrogate is not)"
    return None
