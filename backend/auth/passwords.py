"""Password hashing with Argon2id (memory-hard)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommended profile (64 MiB, 3 passes): memory-hard, ~50 ms here.
_hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)
# Tests build many users; the same algorithm with a small memory cost keeps them fast.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
_use_fast = False


def use_fast_hashing(enabled: bool) -> None:
    """Switch to cheap parameters (tests only)."""
    global _use_fast
    _use_fast = enabled


def hash_password(password: str) -> str:
    """Return an Argon2id hash of password."""
    return (_fast_hasher if _use_fast else _hasher).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


MIN_PASSWORD_LENGTH = 12
# zxcvbn's 0–4 guessability score; 3 is "safely unguessable" against an offline slow-hash attack.
MIN_PASSWORD_SCORE = 3
# Published passwords zxcvbn may rate well: this repository's demo password is one (it is printed in the
# README), so nobody but the demo command may set it.
PUBLISHED_PASSWORDS = frozenset({"fieldtrace-demo"})


def password_problem(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why this password may not be set, or None: at least 12 characters and not common or guessable
    (zxcvbn, which knows the common-password lists and the user's own name)."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if password.casefold() in PUBLISHED_PASSWORDS:
        return "is a published password"
    # zxcvbn's cost grows with length; past 100 characters the prefix decides the score anyway.
    verdict = zxcvbn(password[:100], user_inputs=[s for s in user_inputs if s])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        warning = verdict["feedback"].get("warning") or "too easy to guess"
        return f"is too common or easy to guess ({warning.rstrip('.')})"
    return None
