"""The tracing engine: database-free, as backend.routing is to planning.

Uploaded phone books and call records in (paths or bytes, with the debtor's numbers and timezone),
ranked kin, associates and likely new numbers out (`run_trace` -> TraceResult). Nothing here touches
the database, Flask or Redis; the feature around it (requests, uploads, jobs, review) lives in
backend.tracing.
"""
from .trace import TraceResult, run_trace

__all__ = ["TraceResult", "run_trace"]
