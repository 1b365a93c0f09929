"""Safety's public queries for the floors below it, which may not import safety (they are handed these)."""
from __future__ import annotations

from sqlalchemy.sql.selectable import Lateral

from backend.safety.models import Checkin
from backend.visits.whereabouts import latest_report


def previous_checkin() -> Lateral:
    """The collector's last check-in at or before a visit outcome: where they were, for the travel check."""
    return latest_report(Checkin, "previous_checkin")
