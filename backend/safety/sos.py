"""SOS from the phone; the duress variant answers exactly as an ordinary `ok` check-in would."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.safety.alerts import LEVEL_NAMES, raise_sos
from backend.safety.checkins import checkin_view, record_checkin
from backend.safety.models import CheckinKind


def submit_sos(session: Session, *, collector: User, lat: float, lon: float, recorded_at: datetime,
               note: str | None = None, duress: bool = False, now: datetime | None = None) -> tuple[int, dict]:
    """Raise the SOS; return (status, body) for the phone.

    Under duress someone may be watching the screen: the same code path as an `ok` check-in
    runs and its response is returned, so status, fields and values give nothing away.
    """
    if duress:
        checkin = record_checkin(session, collector=collector, kind=CheckinKind.OK, lat=lat, lon=lon,
                                 recorded_at=recorded_at, now=now)
        raise_sos(session, collector=collector, lat=lat, lon=lon, recorded_at=recorded_at, note=note or "",
                  duress=True, now=now)
        return 201, checkin_view(checkin)
    alert = raise_sos(session, collector=collector, lat=lat, lon=lon, recorded_at=recorded_at, note=note or "",
                      now=now)
    return 201, {"id": alert.id, "kind": alert.kind.value, "state": alert.state.value, "level": alert.level,
                 "level_name": LEVEL_NAMES[alert.level], "raised_at": alert.raised_at.isoformat()}
