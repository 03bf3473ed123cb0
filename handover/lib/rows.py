"""Model instances from hand-written SQL, for the few hot paths where the ORM's query
compilation costs more than the query: the same converters, the same instances."""

import functools
from typing import Any

from django.db import connection
from django.db.models import Expression, Model
from django.db.models.sql import Query


def columns(model: type[Model], alias: str) -> str:
    """Every column of ``model`` in field order, qualified by ``alias``: a SELECT list."""
    return ", ".join(f"{alias}.{qn(str(f.column))}" for f in model._meta.concrete_fields)


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return qn(model._meta.db_table)


def pk_in_range(model: type[Model], pk: int) -> bool:
    """Whether ``pk`` fits the key's column; as with the ORM, a key out of range finds
    nothing (rather than overflowing in the driver)."""
    low, high = connection.ops.integer_field_range(model._meta.pk.get_internal_type())
    return low <= pk <= high


def row_first[M: Model](
    model: type[M], sql: str, params: list[Any]
) -> tuple[M, tuple[Any, ...]] | None:
    """The first row of a SELECT that starts with ``columns(model, ...)``: the instance, and
    the row's other values."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    names, converters = _converters(model)
    values = list(row[: len(names)])
    for index, (functions, expression) in converters.items():
        for convert in functions:
            values[index] = convert(values[index], expression, connection)
    return model.from_db(connection.alias, names, values), tuple(row[len(names) :])


def partial[M: Model](model: type[M], **values: Any) -> M:
    """A row of ``model`` with only these fields read; the others load on first use."""
    return model.from_db(connection.alias, list(values), list(values.values()))


@functools.cache
def _converters(model: type[Model]) -> tuple[list[str], dict[int, tuple[list, Any]]]:
    """The model's fields, and the converters the ORM applies to their columns' values."""
    fields = model._meta.concrete_fields
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, connection.alias)
    cols: list[Expression] = [field.get_col(model._meta.db_table) for field in fields]
    return [field.attname for field in fields], compiler.get_converters(cols)
