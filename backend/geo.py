"""Points in and out of PostGIS: WGS84, lat/lon in request bodies, [lon, lat] in GeoJSON."""
from __future__ import annotations

import json

from flask import current_app, has_app_context
from geoalchemy2 import Geography
from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, post_load, validate

from backend.coords import CoordSys, from_wgs84, geojson_from_wgs84, to_wgs84


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


def default_coord_sys() -> CoordSys:
    """The deployment's default for positions a client sends without saying (DEFAULT_COORD_SYS, parsed
    once by create_app)."""
    return current_app.config["DEFAULT_COORD_SYS"] if has_app_context() else CoordSys.WGS84


def coord_sys_field(**kwargs) -> fields.Enum:
    """`coord_sys: wgs84 | gcj02 | bd09` of the positions in a body (default: the deployment's)."""
    return fields.Enum(CoordSys, by_value=True, load_default=None, allow_none=True,
                       metadata={"description": "coordinate system of lat/lon; default DEFAULT_COORD_SYS"},
                       **kwargs)


class PositionSchema(Schema):
    """A body carrying `lat`/`lon`: converted to WGS-84 on entry (the one system stored inside)."""

    coord_sys = coord_sys_field()

    @post_load
    def _to_wgs84(self, data, **_):
        coord_sys = data.pop("coord_sys", None) or default_coord_sys()
        if data.get("lat") is not None and data.get("lon") is not None:
            data["lat"], data["lon"] = to_wgs84(data["lat"], data["lon"], coord_sys)
        return data


class CoordSysQuerySchema(Schema):
    """`?coord_sys=` on map-facing answers: positions come back in the client's base map's system."""

    coord_sys = fields.Enum(CoordSys, by_value=True, load_default=CoordSys.WGS84)


def geojson_out(obj, coord_sys: CoordSys | str | None):
    """A GeoJSON answer in the system the client asked for (WGS-84 unless told)."""
    return geojson_from_wgs84(obj, coord_sys or CoordSys.WGS84)


def point_out(point: dict | None, coord_sys: CoordSys | str | None) -> dict | None:
    """A `{"lat", "lon", ...}` dict of an answer, converted in place to the client's system."""
    if point and coord_sys and point.get("lat") is not None and point.get("lon") is not None:
        point["lat"], point["lon"] = from_wgs84(point["lat"], point["lon"], coord_sys)
    return point


class LatLonSchema(PositionSchema):
    """A location in a request body."""

    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90), allow_nan=False)
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180), allow_nan=False)


def lat_field(**kwargs) -> fields.Float:
    """A latitude field in WGS84 degrees."""
    return fields.Float(validate=validate.Range(min=-90, max=90), allow_nan=False, **kwargs)


def lon_field(**kwargs) -> fields.Float:
    """A longitude field in WGS84 degrees."""
    return fields.Float(validate=validate.Range(min=-180, max=180), allow_nan=False, **kwargs)
