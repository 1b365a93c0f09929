"""Local HTTP servers that answer like Nominatim's /search and AMap's /v3/geocode/geo (real sockets)."""
from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from backend.coords import wgs84_to_gcj02
from backend.geocoding.types import normalise_address


class _Server:
    """A threaded HTTP server on a free port; `requests` records every query string it answered."""

    def __init__(self):
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                with owner._lock:
                    owner.requests.append({"path": url.path, **query})
                status, body = owner.answer(url.path, query)
                payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str, query: dict) -> tuple[int, object]:
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class NominatimLike(_Server):
    """`/search?q=&format=jsonv2`: a JSON array, lat/lon as strings, WGS-84; `[]` when unknown.

    places: normalised text → (lat, lon, place_rank). Optional latitude per request and a rate limit
    (HTTP 429 beyond it), as a self-hosted Nominatim behind a proxy would.
    """

    def __init__(self, places: dict[str, tuple[float, float, int]] | None = None, *, latency_s: float = 0.0,
                 limit_per_s: int | None = None):
        super().__init__()
        self.places, self.latency_s, self.limit_per_s = places or {}, latency_s, limit_per_s
        self._window: list[float] = []
        self.refused = 0

    def answer(self, path, query):
        if path != "/search" or query.get("format") != "jsonv2":
            return 400, {"error": {"code": 400, "message": "format must be jsonv2"}}
        if self.limit_per_s:
            with self._lock:
                now = time.monotonic()
                self._window = [t for t in self._window if now - t < 1.0]
                if len(self._window) >= self.limit_per_s:
                    self.refused += 1
                    return 429, {"error": {"code": 429, "message": "Too Many Requests"}}
                self._window.append(now)
        if self.latency_s:
            time.sleep(self.latency_s)
        found = self.places.get(normalise_address(query.get("q", "")))
        if found is None:
            return 200, []
        lat, lon, rank = found
        return 200, [{"place_id": 1, "osm_type": "node", "osm_id": 1, "lat": f"{lat:.7f}", "lon": f"{lon:.7f}",
                      "boundingbox": [str(lat - 1e-4), str(lat + 1e-4), str(lon - 1e-4), str(lon + 1e-4)],
                      "display_name": query["q"], "category": "place", "type": "house", "place_rank": rank,
                      "importance": 0.4, "address": {"country_code": "cn"}}]


class AmapLike(_Server):
    """`/v3/geocode/geo?key=&address=`: checks the key; `location` "lng,lat" in GCJ-02; all strings.

    places: normalised text → WGS-84 (lat, lon), answered shifted into GCJ-02 as AMap would.
    """

    def __init__(self, key: str, places: dict[str, tuple[float, float]], private_key: str | None = None):
        super().__init__()
        self.key, self.places, self.private_key = key, places, private_key

    def answer(self, path, query):
        if query.get("key") != self.key:
            return 200, {"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"}
        if self.private_key is not None:
            # The key's "digital signature" setting: MD5 of the other params sorted, raw, + the private key.
            plain = "&".join(f"{k}={query[k]}" for k in sorted(query) if k != "sig") + self.private_key
            if query.get("sig") != hashlib.md5(plain.encode("utf-8")).hexdigest():
                return 200, {"status": "0", "info": "INVALID_USER_SIGNATURE", "infocode": "10007"}
        found = self.places.get(normalise_address(query.get("address", "")))
        if found is None:
            return 200, {"status": "1", "info": "OK", "infocode": "10000", "count": "0", "geocodes": []}
        lat, lon = wgs84_to_gcj02(*found)
        return 200, {"status": "1", "info": "OK", "infocode": "10000", "count": "1", "geocodes": [
            {"formatted_address": query["address"], "country": "中国", "province": "四川省", "city": "成都市",
             "district": "武侯区", "street": [], "number": [], "adcode": "510107",
             "location": f"{lon:.6f},{lat:.6f}", "level": "门牌号"}]}
