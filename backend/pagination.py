"""The one pagination style: `?page=` (from 1) and `?page_size=` (1–1000, default 100), answered
with the envelope `{"items": [...], "total": N, "page": P, "page_size": S}`.

Every list endpoint uses it, so a client writes one pager. Lists are ordered by a stable key so a
page boundary never repeats or skips a row while nothing changes.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.validation import count_field

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


class PageQuerySchema(Schema):
    """Query arguments every list takes; a list's own filters subclass this."""

    page = count_field(load_default=1, validate=validate.Range(min=1),
                       metadata={"description": "page number, from 1"})
    page_size = fields.Integer(load_default=DEFAULT_PAGE_SIZE,
                               validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
                               metadata={"description": f"rows per page, 1–{MAX_PAGE_SIZE}"})


_page_schemas: dict[type, type[Schema]] = {}


def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """The envelope schema around `item_schema` (one class per item schema, named for OpenAPI)."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
        })
    return _page_schemas[item_schema]


def envelope(items: list, total: int, page: int, page_size: int) -> dict:
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def paginate(session: Session, statement: Select, page: int, page_size: int, *,
             scalars: bool = True) -> tuple[list, int]:
    """One page of `statement`'s rows (it must already be ordered) and the total matching.

    With `scalars` (a statement selecting one entity) the page holds objects, otherwise Rows.
    """
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    paged = statement.limit(page_size).offset((page - 1) * page_size)
    rows = session.scalars(paged).all() if scalars else session.execute(paged).all()
    return list(rows), total or 0


def pop_page(query: dict) -> tuple[int, int]:
    """Take `page` and `page_size` out of a list's parsed query; what remains are its filters."""
    return query.pop("page"), query.pop("page_size")
