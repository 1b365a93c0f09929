"""Points in and out of PostGIS: WGS84, lat/lon in request bodies, [lon, lat] in GeoJSON."""
from __future__ import annotations

import json

from geoalchemy2 import Geography
from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, validate


def point_column_type() -> Geography:
    """The one geometry type for locations: geography(Point, 4326)."""
    return Geography(geometry_type="POINT", srid=4326, spatial_index=True)


def make_point(lat: float, lon: float) -> WKTElement:
    """Return a geography point element from lat/lon degrees."""
    return WKTElement(f"POINT({float(lon)!r} {float(lat)!r})", srid=4326)


def point_latlon(element) -> tuple[float, float] | None:
    """Return (lat, lon) of a stored point, or None."""
    if element is None:
        return None
    shape = to_shape(element)
    return shape.y, shape.x


def point_geojson(lat: float, lon: float) -> dict:
    """Return an RFC 7946 Point geometry."""
    return {"type": "Point", "coordinates": [lon, lat]}


def parse_geojson(text: str | None) -> dict | None:
    """Parse ST_AsGeoJSON output."""
    return json.loads(text) if text else None


class LatLonSchema(Schema):
    """A location in a request body."""

    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90), allow_nan=False)
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180), allow_nan=False)


def lat_field(**kwargs) -> fields.Float:
    """A latitude field in WGS84 degrees."""
    return fields.Float(validate=validate.Range(min=-90, max=90), allow_nan=False, **kwargs)


def lon_field(**kwargs) -> fields.Float:
    """A longitude field in WGS84 degrees."""
    return fields.Float(validate=validate.Range(min=-180, max=180), allow_nan=False, **kwargs)
