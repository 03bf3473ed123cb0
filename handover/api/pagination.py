from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 100
MAX_OFFSET = 10**9  # far past any real list; a larger one overflows the database's integers


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class Pagination(LimitOffsetPagination):
    """ninja's limit/offset pages with the same bounds as ``PageParams``."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)


def page(queryset: QuerySet, params: PageParams, render: Callable[[Any], dict]) -> dict:
    """One page of ``queryset`` rendered item by item, with the total count."""
    offset = params.offset
    items = [render(item) for item in queryset[offset : offset + params.limit]]
    return {"items": items, "count": queryset.count()}
