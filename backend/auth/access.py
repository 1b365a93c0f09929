"""Who is calling: bearer tokens, role checks, and the current user."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from backend.auth.models import Role, User
from backend.errors import DomainError, Forbidden
from backend.extensions import db
from backend.timeutil import utcnow

ALL_ROLES = tuple(Role)
STAFF_ROLES = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


class Unauthorized(DomainError):
    status = 401

    def __init__(self, message: str):
        super().__init__("unauthorized", message)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="fieldtrace-access-token")


def issue_token(user: User) -> tuple[str, datetime]:
    """Return a signed bearer token for user and when it expires."""
    token = _serializer().dumps({"uid": user.id, "v": user.token_version})
    return token, utcnow() + timedelta(seconds=current_app.config["TOKEN_TTL_S"])


def user_from_token(token: str) -> User:
    """Return the active user a token names, or raise Unauthorized."""
    try:
        claims = _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_S"])
    except SignatureExpired as exc:
        raise Unauthorized("token expired") from exc
    except BadSignature as exc:
        raise Unauthorized("invalid token") from exc
    user = db.session.get(User, claims.get("uid"))
    if user is None or not user.active or user.token_version != claims.get("v"):
        raise Unauthorized("invalid token")
    return user


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


def roles_required(*roles: Role):
    """Require a valid token whose user has one of roles (any role when none given)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = user_from_token(_bearer_token())
            if roles and user.role not in roles:
                raise Forbidden(f"requires role {' or '.join(r.value for r in roles)}")
            g.current_user = user
            return view(*args, **kwargs)

        wrapper.allowed_roles = tuple(roles) or ALL_ROLES
        return wrapper

    return decorator


def public(view):
    """Mark a view as callable without a token."""
    view.allowed_roles = "public"
    return view


def current_user() -> User:
    """Return the authenticated user of this request."""
    return g.current_user


def require_self_or(user_id: int, *roles: Role) -> None:
    """Allow the user themself or anyone with one of roles; otherwise 403."""
    user = current_user()
    if user.id != user_id and user.role not in roles:
        raise Forbidden("you may only see your own record")
