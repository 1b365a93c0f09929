"""Contacts' periodic sweeps (worker/sweeps.py): module-level, idempotent, they commit."""
from __future__ import annotations

from backend.contacts.promises import settle_promises
from backend.contacts.reminders import send_promise_reminders
from backend.contacts.triggers import run_contact_triggers
from backend.extensions import db


def settle_due_promises() -> dict:
    """Sweep (periodic queue): settle every open promise; commit."""
    result = settle_promises(db.session)
    db.session.commit()
    return result


def raise_contact_triggers() -> dict:
    """Sweep (periodic queue): statuses and trigger-raised visits; commit."""
    result = run_contact_triggers(db.session)
    db.session.commit()
    return result


def send_due_reminders() -> dict:
    """Sweep (periodic queue): queue the promise reminders due now, in lawful hours; commit."""
    try:
        result = send_promise_reminders(db.session)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
