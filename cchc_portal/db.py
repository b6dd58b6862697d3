"""Writing many rows fast, for the jobs that keep whole derived result sets.

Each helper is one statement (or one COPY and a few statements on PostgreSQL) whatever the number
of rows: no model instances are built, no primary keys come back and no signals fire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models


def _names(model: type[models.Model], fields: Sequence[str]) -> tuple[str, list[str]]:
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), [quote(model._meta.get_field(name).column) for name in fields]


def bulk_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert plain tuples (database-ready values, in `fields` order) into `model`'s table.

    PostgreSQL gets one COPY; other databases one executemany.
    """
    rows = list(rows)
    if not rows:
        return 0
    table, columns = _names(model, fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            # Names come from the model's metadata, quoted; values are parameters.
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608
    return len(rows)


def bulk_update(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Set `fields` of the rows given as (primary key, *values in `fields` order).

    PostgreSQL gets the rows by COPY into a temporary table and one UPDATE ... FROM it; other
    databases one executemany.
    """
    rows = list(rows)
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table, columns = _names(model, fields)
    pk = quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            staged = quote(f"{model._meta.db_table}_staged")
            # The staged table takes the real columns' types; dropped at once, so a second update
            # in the same transaction finds no leftover.
            cursor.execute(
                f"CREATE TEMPORARY TABLE {staged} AS SELECT {pk}, {', '.join(columns)} FROM {table} WITH NO DATA"  # noqa: S608
            )
            with cursor.cursor.copy(f"COPY {staged} ({pk}, {', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            assignments = ", ".join(f"{column} = staged.{column}" for column in columns)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {staged} AS staged WHERE {table}.{pk} = staged.{pk}"  # noqa: S608
            )
            cursor.execute(f"DROP TABLE {staged}")
        else:
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
                [(*values, key) for key, *values in rows],
            )
    return len(rows)


def bulk_delete(model: type[models.Model], pks: Iterable) -> int:
    """Delete the rows of `model` with these primary keys, in one statement."""
    pks = list(pks)
    if not pks:
        return 0
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DELETE FROM {table} WHERE {pk} = ANY(%s)", [pks])  # noqa: S608
        else:
            cursor.executemany(f"DELETE FROM {table} WHERE {pk} = %s", [(key,) for key in pks])  # noqa: S608
    return len(pks)
