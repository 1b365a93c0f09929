"""Who is calling: bearer tokens, role checks, and the current user."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, wraps

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from backend.auth.models import Role, User
from backend.dbtypes import driver
from backend.errors import DomainError, Forbidden
from backend.extensions import db
from backend.http import reject_unknown_query_arguments
from backend.timeutil import utcnow

ALL_ROLES = tuple(Role)
STAFF_ROLES = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


class Unauthorized(DomainError):
    status = 401

    def __init__(self, message: str):
        super().__init__("unauthorized", message)


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=4)
def _serializer_for(secret_key: str) -> URLSafeTimedSerializer:
    # Built once per key, not on every request: it is stateless, so threads may share it.
    return URLSafeTimedSerializer(secret_key, salt="fieldtrace-access-token")


def issue_token(user: User) -> tuple[str, datetime]:
    """Return a signed bearer token for user and when it expires."""
    token = _serializer().dumps({"uid": user.id, "v": user.token_version})
    return token, utcnow() + timedelta(seconds=current_app.config["TOKEN_TTL_S"])


def _claims(token: str) -> dict:
    """The claims of a token we signed and that has not expired, or raise Unauthorized."""
    try:
        return _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_S"])
    except SignatureExpired as exc:
        raise Unauthorized("token expired") from exc
    except BadSignature as exc:
        raise Unauthorized("invalid token") from exc


def user_from_token(token: str) -> User:
    """Return the active user a token names, or raise Unauthorized."""
    claims = _claims(token)
    user = db.session.get(User, claims.get("uid"))
    if user is None or not user.active or user.token_version != claims.get("v"):
        raise Unauthorized("invalid token")
    return user


@dataclass(frozen=True)
class Caller:
    """Who is calling, checked like user_from_token but without loading the user: id and role."""

    id: int
    role: Role


# Plain SQL on the session's DBAPI connection (same transaction): loading the User through the ORM
# cost ~10x this on the views that only need the caller's id (reports from the field).
_CALLER = "SELECT role, active, token_version FROM users WHERE id = %(id)s"


def caller_from_token(token: str) -> Caller:
    """Return the id and role of the active user a token names, or raise Unauthorized."""
    claims = _claims(token)
    uid = claims.get("uid")
    row = None
    if isinstance(uid, int) and not isinstance(uid, bool):
        row = driver(db.session).execute(_CALLER, {"id": uid}).fetchone()
    if row is None or not row[1] or row[2] != claims.get("v"):
        raise Unauthorized("invalid token")
    return Caller(uid, Role(row[0]))


def bearer_token() -> str:
    """The request's bearer token; Unauthorized when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


def roles_required(*roles: Role, load_user: bool = True):
    """Require a valid token whose user has one of roles (any role when none given).

    load_user=False: the view reads only current_caller() (id, role), so the user row is checked
    with one small query instead of being loaded; current_user() still loads it on demand.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if load_user:
                user = user_from_token(bearer_token())
                g.current_user, g.current_caller = user, Caller(user.id, user.role)
            else:
                g.current_user, g.current_caller = None, caller_from_token(bearer_token())
            if roles and g.current_caller.role not in roles:
                raise Forbidden(f"requires role {' or '.join(r.value for r in roles)}")
            # After authentication, before the endpoint parses anything: an undeclared query parameter.
            reject_unknown_query_arguments()
            return view(*args, **kwargs)

        wrapper.allowed_roles = tuple(roles) or ALL_ROLES
        return wrapper

    return decorator


def public(view):
    """Mark a view as callable without a token (its query parameters are checked all the same)."""
    @wraps(view)
    def checked(*args, **kwargs):
        reject_unknown_query_arguments()
        return view(*args, **kwargs)

    checked.allowed_roles = "public"
    return checked


def current_user() -> User:
    """Return the authenticated user of this request."""
    if g.current_user is None:  # a view declared with load_user=False asked for it after all
        g.current_user = db.session.get(User, g.current_caller.id)
        if g.current_user is None:
            raise Unauthorized("invalid token")
    return g.current_user


def current_caller() -> Caller:
    """Return the id and role of the authenticated user of this request."""
    return g.current_caller


def require_self_or(user_id: int, *roles: Role) -> None:
    """Allow the user themself or anyone with one of roles; otherwise 403."""
    user = current_user()
    if user.id != user_id and user.role not in roles:
        raise Forbidden("you may only see your own record")
