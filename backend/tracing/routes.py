"""Tracing endpoints."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("tracing", __name__, url_prefix="/api/v1", description="Tracing")
