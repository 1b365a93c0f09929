"""Accounts: create, update, authenticate."""
from __future__ import annotations

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.auth.passwords import hash_password, password_problem, verify_password
from backend.errors import DomainError, InvalidInput, NotFound
from backend.geo import make_point
from backend.pagination import paginate
from backend.signals import action_audited, user_deactivated
from backend.timeutil import parse_hhmm

# A hash of a random password: verifying against it costs the same as a real check, so a
# wrong username takes as long as a wrong password.
_DUMMY_HASH = None


def _normalise_phone(number: str | None, region: str) -> str | None:
    if not number:
        return None
    parsed = phonenumbers.parse(number, region)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _apply(user: User, changes: dict, region: str) -> None:
    for key in ("username", "role", "name", "timezone", "max_visits_per_day", "skills", "team_size", "active",
                "areas"):
        if key in changes:
            setattr(user, key, changes[key])
    if "phone" in changes:
        user.phone = _normalise_phone(changes["phone"], region)
    if "home" in changes:
        home = changes["home"]
        user.home = make_point(home["lat"], home["lon"]) if home else None
    for key in ("shift_start", "shift_end"):
        if key in changes:
            setattr(user, key, parse_hhmm(changes[key]))
    if changes.get("password"):
        user.password_hash = hash_password(changes["password"])
        user.token_version = (user.token_version or 0) + 1
    if changes.get("active") is False:
        user.token_version = (user.token_version or 0) + 1


# Account settings whose every change an admin makes is audited with old and new values (the role,
# the password and deactivation have audit events of their own; home is audited without its place).
AUDITED_FIELDS = ("username", "name", "phone", "timezone", "shift_start", "shift_end", "max_visits_per_day",
                  "skills", "team_size", "areas")


def _audit_value(value):
    if hasattr(value, "strftime"):
        return value.strftime("%H:%M")
    return list(value) if isinstance(value, list | tuple) else value


def check_password(password: str, *, username: str | None = None, name: str | None = None) -> None:
    """422 naming `password` when the policy refuses it (backend/auth/passwords.py password_problem)."""
    problem = password_problem(password, user_inputs=tuple(s for s in (username, name) if s))
    if problem:
        raise InvalidInput("password", problem)


def _audit(session: Session, actor_id: int | None, action: str, user: User, **details) -> None:
    action_audited.send("auth", session=session, actor_id=actor_id, action=action, subject_type="user",
                        subject_id=user.id, details={"username": user.username, **details})


def _check_shift(user: User) -> None:
    if user.shift_end <= user.shift_start:
        raise DomainError("validation_error", "shift_end must be after shift_start",
                          status=422, fields={"shift_end": "must be after shift_start"})


def create_user(session: Session, *, region: str = "CN", actor_id: int | None = None,
                password_policy: bool = True, **fields) -> User:
    """Create a user (audited); 409 when the username is taken, 422 for a password the policy refuses.
    password_policy=False is for the demo command alone (its published demo password)."""
    if password_policy:
        check_password(fields["password"], username=fields["username"], name=fields.get("name"))
    if session.scalar(sa.select(User.id).where(User.username == fields["username"])):
        raise DomainError("username_taken", f"username {fields['username']!r} is taken",
                          fields={"username": "already taken"})
    user = User(token_version=0, skills=[], areas=[], team_size=1, max_visits_per_day=12, active=True,
                timezone="Asia/Shanghai", shift_start=parse_hhmm("08:30"), shift_end=parse_hhmm("18:00"))
    _apply(user, fields, region)
    _check_shift(user)
    session.add(user)
    session.flush()
    _audit(session, actor_id, "user.created", user, role=user.role.value, active=user.active)
    return user


def update_user(session: Session, user_id: int, *, region: str = "CN", actor_id: int | None = None,
                **changes) -> User:
    """Apply changes to a user; a role change, a password reset and a deactivation are audited."""
    user = get_user(session, user_id)
    if changes.get("password"):
        check_password(changes["password"], username=changes.get("username", user.username),
                       name=changes.get("name", user.name))
    old_role, was_active = user.role, user.active
    before = {key: _audit_value(getattr(user, key)) for key in AUDITED_FIELDS if key in changes}
    if "username" in changes and changes["username"] != user.username:
        taken = session.scalar(sa.select(User.id).where(User.username == changes["username"]))
        if taken:
            raise DomainError("username_taken", "username is taken", fields={"username": "already taken"})
    _apply(user, changes, region)
    _check_shift(user)
    session.flush()
    if user.role != old_role:
        _audit(session, actor_id, "user.role_changed", user, old=old_role.value, new=user.role.value)
    changed = {key: {"old": old, "new": _audit_value(getattr(user, key))} for key, old in before.items()
               if old != _audit_value(getattr(user, key))}
    if "home" in changes:
        changed["home"] = "changed"  # where a collector lives is theirs: the trail says it changed, not to where
    if changed:
        _audit(session, actor_id, "user.updated", user, changes=changed)
    if changes.get("password"):
        _audit(session, actor_id, "user.password_reset", user)
    if was_active and not user.active:
        _audit(session, actor_id, "user.deactivated", user)
        user_deactivated.send(user, session=session)
    elif user.active and not was_active:
        _audit(session, actor_id, "user.reactivated", user)
    return user


def get_user(session: Session, user_id: int) -> User:
    """Return the user or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def list_users(session: Session, *, page: int, page_size: int, role: Role | None = None,
               active: bool | None = None) -> tuple[list[User], int]:
    """One page of users, optionally by role and active flag, and how many match."""
    query = sa.select(User).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active == active)
    return paginate(session, query, page, page_size)


def record_home_read(session: Session, actor_id: int, user: User) -> None:
    """Audit an admin reading a user's home (to edit the account)."""
    _audit(session, actor_id, "user.home_read", user)


def record_login(session: Session, username: str, address: str | None, user: User | None) -> None:
    """Audit a login attempt, succeeded or failed, with the username given and the client address."""
    action_audited.send("auth", session=session, actor_id=user.id if user else None,
                        action="auth.login_succeeded" if user else "auth.login_failed", subject_type="user",
                        subject_id=user.id if user else None, details={"username": username, "address": address})


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    global _DUMMY_HASH
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password("not-a-real-password")
        verify_password(_DUMMY_HASH, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user
