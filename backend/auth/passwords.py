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
