"""Response headers every answer carries: no MIME sniffing, no referrer, no framing; on HTML a strict
CSP that lets the page load nothing (unless its own blueprint set one, as the console does); and no
caching of what a token read."""
from __future__ import annotations

from flask import request

# Nothing we serve needs a script, a style, a frame or a connection of its own.
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":  # JSON is never rendered; a policy there would only mislead
        headers.setdefault("Content-Security-Policy", STRICT_CSP)
    # An answer to a token holds someone's data: no browser, proxy or app cache may keep it.
    if request.headers.get("Authorization"):
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    return response
