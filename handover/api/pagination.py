"""One way to page every list of the API: ninja's ``@paginate(Pagination)``, which reads
``limit`` and ``offset`` and answers ``{"items": [...], "count": total}``."""

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 100
MAX_OFFSET = 10**9  # far past any real list; a larger one overflows the database's integers


class Pagination(LimitOffsetPagination):
    """ninja's limit/offset pages, at most ``MAX_LIMIT`` items a page."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)


class PageRendered:
    """A queryset whose page is shown through ``render``, called once with the page's rows:
    for items that need one query for the whole page (the dispute queue's flags)."""

    def __init__(self, queryset: QuerySet, render: Callable[[list], Sequence[Any]]):
        self.queryset = queryset
        self.render = render

    def all(self) -> QuerySet:
        return self.queryset.all()  # the paginator counts through this

    def __getitem__(self, page: slice) -> Sequence[Any]:
        return self.render(list(self.queryset[page]))
