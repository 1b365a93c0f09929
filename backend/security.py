"""Response headers every answer carries: no MIME sniffing, no referrer, a CSP that lets any HTML we
ever serve (the OpenAPI document, an error page) load nothing, and no caching of what a token read."""
from __future__ import annotations

from flask import request

# Nothing we serve needs a script, a style, a frame or a connection of its own.
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", STRICT_CSP)
    # An answer to a token holds someone's data: no browser, proxy or app cache may keep it.
    if request.headers.get("Authorization"):
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    return response
