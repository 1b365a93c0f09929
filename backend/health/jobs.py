"""A trivial job that proves the API -> Redis -> worker -> database round trip."""
from __future__ import annotations

import os

import sqlalchemy as sa

from backend.extensions import db


def ping_worker(nonce: str) -> dict:
    """Answer with the nonce, the worker's pid and a database round trip."""
    database_ok = db.session.execute(sa.text("select 1")).scalar() == 1
    db.session.remove()
    return {"nonce": nonce, "pid": os.getpid(), "database": database_ok}
