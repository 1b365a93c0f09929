"""Where a collector last reported from: the evidence behind an outcome's implausible-travel flag.

Visits keeps its own reports (outcomes); features above it that also learn where a collector was
(safety's check-ins) register a source here from their `register(app)`, so visits asks for them
without importing them. A source is a function returning a LATERAL subquery with `recorded_at` and
`location` of the collector's last report at or before the report being checked (see latest_report).
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.sql.selectable import Lateral

ReportSource = Callable[[], Lateral]
_SOURCES: dict[str, ReportSource] = {}


def latest_report(model, name: str) -> Lateral:
    """The collector's last report of one kind at or before :recorded_at (a LATERAL subquery).

    model has collector_id, recorded_at and location columns; the bound parameters are :collector_id
    and :recorded_at, the ones the outcome statement sends.
    """
    return (sa.select(model.recorded_at, model.location)
            .where(model.collector_id == sa.bindparam("collector_id"),
                   model.recorded_at <= sa.bindparam("recorded_at", type_=sa.DateTime(timezone=True)))
            .order_by(model.recorded_at.desc()).limit(1).lateral(name))


def register_report_source(name: str, source: ReportSource) -> None:
    """Let outcomes weigh another kind of position report (registering the same name again replaces it)."""
    _SOURCES[name] = source


def report_sources() -> tuple[tuple[str, ReportSource], ...]:
    """Every registered source, in name order (a stable statement to cache)."""
    return tuple(sorted(_SOURCES.items()))
