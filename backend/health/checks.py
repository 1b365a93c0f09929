"""Health checks other features register (the safety watchdog is one)."""
from __future__ import annotations

from collections.abc import Callable

_CHECKS: dict[str, Callable[[], dict]] = {}


def register_check(name: str, check: Callable[[], dict]) -> None:
    """Register a check returning {"ok": bool, ...}."""
    _CHECKS[name] = check


def run_all() -> dict:
    """Run every check; a check that raises reports not ok."""
    results = {}
    for name, check in _CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a broken check must show, not hide the others
            results[name] = {"ok": False, "error": str(exc)}
    return results
