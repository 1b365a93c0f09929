"""The one place that answers "what is the rule here": defaults, profile, portfolio overrides."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.errors import DomainError, NotFound
from backend.policy.calendar import is_known_country
from backend.policy.defaults import CHOICES, DEFAULT_PROFILE, DEFAULTS, PROFILES
from backend.policy.models import DEFAULT_PORTFOLIO_CODE, Portfolio
from backend.signals import action_audited


class Policy(Mapping):
    """Effective settings for one portfolio; read with policy["contact.quiet_start"]."""

    def __init__(self, values: dict, profile: str, portfolio_id: int | None):
        self._values = values
        self.profile = profile
        self.portfolio_id = portfolio_id

    def __getitem__(self, key: str):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def as_dict(self) -> dict:
        return dict(self._values)


def effective_settings(profile: str, overrides: dict | None) -> dict:
    """Merge DEFAULTS, the profile and overrides."""
    return {**DEFAULTS, **PROFILES.get(profile, {}), **(overrides or {})}


def default_policy() -> Policy:
    """The agency-wide policy (no portfolio): used for staff-side rules like safety timers."""
    return Policy(effective_settings(DEFAULT_PROFILE, None), DEFAULT_PROFILE, None)


def get_policy(session: Session, portfolio_id: int | None) -> Policy:
    """Return the effective policy of a portfolio (agency defaults when None)."""
    if portfolio_id is None:
        return default_policy()
    portfolio = session.get(Portfolio, portfolio_id)
    if portfolio is None:
        raise NotFound("portfolio", portfolio_id)
    return portfolio_policy(portfolio.id, portfolio.profile, portfolio.overrides)


def portfolio_policy(portfolio_id: int | None, profile: str | None, overrides: dict | None) -> Policy:
    """The effective policy from a portfolio's stored profile and overrides, for a caller that read them
    with its other rows in one query (agency defaults when there is no portfolio)."""
    if portfolio_id is None:
        return default_policy()
    return Policy(effective_settings(profile, overrides), profile, portfolio_id)


# A time-of-day setting ("22:00"); its override must be one too, or the rules cannot read it.
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# An override over a thousand times its default is a typo, and past it the day and minute arithmetic
# of the rules leaves the calendar (or a bigint): refused rather than failing every request it governs.
OVERRIDE_MAX_FACTOR = 1000
# Settings named *weekdays list ISO weekdays; with none (or none real) a working-day count never ends.
ISO_WEEKDAYS = set(range(1, 8))


def _same_kind(default, value) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):  # a count or a whole number of days: 0.5 of one breaks the rules using it
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list) and isinstance(value, list) and default:
        return all(_same_kind(default[0], item) for item in value)
    return isinstance(value, type(default))


def _refuse(key: str, message: str) -> DomainError:
    return DomainError("validation_error", f"{key} {message}", status=422, fields={f"overrides.{key}": message})


def _numbers(value) -> list:
    items = value if isinstance(value, list) else [value]
    return [n for n in items if isinstance(n, int | float) and not isinstance(n, bool)]


def validate_overrides(overrides: dict) -> dict:
    """Reject unknown keys, values of the wrong type and values the rules cannot compute with, naming the key."""
    for key, value in overrides.items():
        if key not in DEFAULTS:
            raise DomainError("validation_error", f"unknown policy setting {key!r}", status=422,
                              fields={f"overrides.{key}": "unknown policy setting"})
        default = DEFAULTS[key]
        if not _same_kind(default, value):
            raise DomainError("validation_error", f"{key} must be like {default!r}", status=422,
                              fields={f"overrides.{key}": f"expected {type(default).__name__}"})
        if isinstance(default, str) and HHMM.match(default) and not HHMM.match(value):
            raise _refuse(key, "expected a time of day, HH:MM")
        if key in CHOICES and (not value or not set(value) <= set(CHOICES[key])):
            raise _refuse(key, f"expected at least one of {', '.join(CHOICES[key])}")
        if key == "calendar.country" and not is_known_country(value):
            raise _refuse(key, "expected a country code the holiday calendar knows (ISO 3166 alpha-2)")
        if key.endswith("weekdays") and (not value or not set(value) <= ISO_WEEKDAYS):
            raise _refuse(key, "expected ISO weekdays, 1 (Monday) to 7, at least one")
        ceiling = OVERRIDE_MAX_FACTOR * max([1, *_numbers(default)])
        for number in _numbers(value):
            if isinstance(number, float) and not math.isfinite(number):  # JSONB has no NaN or Infinity
                raise _refuse(key, "must be a finite number")
            if number < 0:
                raise _refuse(key, "must not be negative")
            if number > ceiling:
                raise _refuse(key, f"must be at most {ceiling:,}")
    return overrides


def ensure_default_portfolio(session: Session) -> Portfolio:
    """Return the default portfolio, creating it on first use."""
    portfolio = session.scalar(sa.select(Portfolio).where(Portfolio.code == DEFAULT_PORTFOLIO_CODE))
    if portfolio is None:
        portfolio = Portfolio(code=DEFAULT_PORTFOLIO_CODE, creditor="(agency default)",
                              profile=DEFAULT_PROFILE, overrides={})
        session.add(portfolio)
        session.flush()
    return portfolio


def overrides_diff(old: dict, new: dict) -> dict:
    """{key: {"old", "new"}} for every override added, changed or removed (None where absent)."""
    return {key: {"old": old.get(key), "new": new.get(key)}
            for key in sorted(set(old) | set(new)) if old.get(key, _ABSENT) != new.get(key, _ABSENT)}


_ABSENT = object()


def _audit(session: Session, actor_id: int | None, action: str, portfolio: Portfolio, **details) -> None:
    action_audited.send("policy", session=session, actor_id=actor_id, action=action, subject_type="portfolio",
                        subject_id=portfolio.id, details={"code": portfolio.code, **details})


def create_portfolio(session: Session, *, code: str, creditor: str, profile: str = DEFAULT_PROFILE,
                     overrides: dict | None = None, actor_id: int | None = None) -> Portfolio:
    """Create a portfolio with a profile and overrides (audited, with the overrides)."""
    if profile not in PROFILES:
        raise DomainError("validation_error", f"unknown profile {profile!r}", status=422,
                          fields={"profile": f"one of {sorted(PROFILES)}"})
    if session.scalar(sa.select(Portfolio.id).where(Portfolio.code == code)):
        raise DomainError("portfolio_exists", f"portfolio {code!r} exists", fields={"code": "already exists"})
    portfolio = Portfolio(code=code, creditor=creditor, profile=profile,
                          overrides=validate_overrides(overrides or {}))
    session.add(portfolio)
    session.flush()
    _audit(session, actor_id, "portfolio.created", portfolio, profile=profile,
           overrides=overrides_diff({}, portfolio.overrides))
    return portfolio


def update_portfolio(session: Session, portfolio_id: int, *, actor_id: int | None = None, **changes) -> Portfolio:
    """Change a portfolio's creditor, profile or overrides (audited: what changed, overrides key by key)."""
    portfolio = session.get(Portfolio, portfolio_id)
    if portfolio is None:
        raise NotFound("portfolio", portfolio_id)
    before = {"creditor": portfolio.creditor, "profile": portfolio.profile, "overrides": dict(portfolio.overrides or {})}
    if "profile" in changes:
        if changes["profile"] not in PROFILES:
            raise DomainError("validation_error", "unknown profile", status=422,
                              fields={"profile": f"one of {sorted(PROFILES)}"})
        portfolio.profile = changes["profile"]
    if "creditor" in changes:
        portfolio.creditor = changes["creditor"]
    if "overrides" in changes:
        portfolio.overrides = validate_overrides(changes["overrides"] or {})
    session.flush()
    details = {key: {"old": before[key], "new": getattr(portfolio, key)} for key in ("creditor", "profile")
               if before[key] != getattr(portfolio, key)}
    diff = overrides_diff(before["overrides"], dict(portfolio.overrides or {}))
    if diff:
        details["overrides"] = diff
    _audit(session, actor_id, "portfolio.updated", portfolio, **details)
    return portfolio
