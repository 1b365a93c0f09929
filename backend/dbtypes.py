"""Column types shared by every feature's models."""
from __future__ import annotations

import enum

import sqlalchemy as sa


def pg_enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    """A PostgreSQL enum storing the members' values (what the API shows), not their names."""
    return sa.Enum(cls, name=name, values_callable=lambda members: [m.value for m in members])


def driver(session):
    """The psycopg connection under the session's current transaction.

    Hot paths run prepared SQL text on it directly: same transaction, none of the ORM's per-statement cost.
    """
    return session.connection().connection.driver_connection
