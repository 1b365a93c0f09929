"""Notifications: the outbox (every message a row first), its providers and delivery jobs.

A core-floor package: safety, contacts, visits and planning call it; it imports none of them.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Session

_hooked = False


def register(app) -> None:
    """Register the routes and the session hook that starts delivery once messages are committed."""
    global _hooked
    from backend.extensions import api
    from backend.notify import jobs, routes

    api.register_blueprint(routes.blp)
    if not _hooked:  # one hook per process, however many apps a test run builds
        sa.event.listen(Session, "after_commit", jobs.kick_after_commit)
        sa.event.listen(Session, "after_rollback", jobs.forget_kick)
        _hooked = True
