"""Time helpers: everything stored in UTC, rules speak in a person's local time."""
from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from marshmallow import ValidationError


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def validate_timezone(name: str) -> None:
    """Raise ValidationError unless name is an IANA timezone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:  # OSError: a name too long for a path
        raise ValidationError(f"unknown timezone {name!r}") from exc


def local_time(moment: datetime, tz_name: str) -> datetime:
    """Return moment in the named timezone."""
    return moment.astimezone(ZoneInfo(tz_name))


def parse_hhmm(text: str) -> time:
    """Parse 'HH:MM' into a time."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def all_timezones() -> set[str]:
    """Return the IANA timezone names this machine knows."""
    return available_timezones()
