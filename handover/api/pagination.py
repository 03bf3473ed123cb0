from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Schema

MAX_LIMIT = 100


class PageParams(Schema):
    limit: int = 50
    offset: int = 0


def page(queryset: QuerySet, params: PageParams, render: Callable[[Any], dict]) -> dict:
    """One page of ``queryset`` rendered item by item, with the total count."""
    limit = max(1, min(params.limit, MAX_LIMIT))
    offset = max(0, params.offset)
    items = [render(item) for item in queryset[offset : offset + limit]]
    return {"items": items, "count": queryset.count()}
