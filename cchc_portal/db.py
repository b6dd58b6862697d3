"""Writing many rows fast, for the jobs that replace whole result sets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models


def bulk_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert plain tuples (database-ready values, in `fields` order) into `model`'s table.

    PostgreSQL gets one COPY; other databases one executemany. No model instances are built,
    no primary keys come back and no signals fire: for derived rows that are swapped as a whole.
    """
    rows = list(rows)
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            # Names come from the model's metadata, quoted; values are parameters.
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608
    return len(rows)
