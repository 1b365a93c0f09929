"""RFC 7946 shapes for the OpenAPI document: what the `.geojson` endpoints answer.

The collections are built by PostGIS (ST_AsGeoJSON), so these schemas describe, they do not dump.
A paged collection carries `page`, `page_size` and `total` as foreign members (RFC 7946 §6.1) next
to `features`, the same numbers every other list puts in its envelope.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


class GeometrySchema(Schema):
    """A geometry: positions are [longitude, latitude] in WGS 84 (RFC 7946 §3.1)."""

    type = fields.String(required=True, validate=validate.OneOf(GEOMETRY_TYPES))
    coordinates = fields.List(fields.Raw(), required=True,
                              metadata={"description": "a position [lon, lat], or arrays of positions by type"})


class FeatureSchema(Schema):
    """One feature (RFC 7946 §3.2); `properties` are named in the endpoint's description."""

    type = fields.String(required=True, validate=validate.Equal("Feature"))
    id = fields.Integer(metadata={"description": "the row's id, where the feature is one row"})
    geometry = fields.Nested(GeometrySchema, required=True, allow_none=True)
    properties = fields.Dict(keys=fields.String(), required=True, allow_none=True)


class FeatureCollectionSchema(Schema):
    """A FeatureCollection (RFC 7946 §3.3)."""

    type = fields.String(required=True, validate=validate.Equal("FeatureCollection"))
    features = fields.List(fields.Nested(FeatureSchema), required=True)


class FeatureCollectionPageSchema(FeatureCollectionSchema):
    """One page of a FeatureCollection: `?page=` and `?page_size=` as on every list, the page's numbers
    as foreign members."""

    total = fields.Integer(required=True, metadata={"description": "features matching, over all pages"})
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
