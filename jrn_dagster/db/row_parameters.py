"""A list of rows sent as a table in one statement, with a statement that compiles once.

A VALUES list renders one bound parameter per cell, so SQLAlchemy compiles the statement anew for
every batch size (most of a tick's time at 500 events). Here each column is one parameter: a
PostgreSQL array unnested, or one JSON document read by SQLite's ``json_each``; the statement's
shape never changes, so its compiled form is cached.
"""

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.types import TypeEngine

TEXT = String()
BIG_INTEGER = BigInteger()


def row_parameters(
    session: Session,
    name: str,
    columns: Sequence[tuple[str, TypeEngine[Any]]],
    rows: Sequence[Sequence[Any]],
) -> FromClause:
    """``rows`` as a derived table ``name`` with ``columns`` (name, type), for joins."""
    if session.get_bind().dialect.name == "postgresql":
        arrays = [
            bindparam(f"{name}_{column_name}", value=[row[i] for row in rows], type_=ARRAY(kind))
            for i, (column_name, kind) in enumerate(columns)
        ]
        return (
            func.unnest(*arrays)
            .table_valued(*(column(column_name, kind) for column_name, kind in columns))
            .render_derived(name=name)
        )
    document = bindparam(f"{name}_rows", value=json.dumps([list(row) for row in rows]), type_=TEXT)
    cells = func.json_each(document).table_valued("value").alias(f"{name}_json")
    return select(
        *(
            func.json_extract(cells.c.value, f"$[{i}]", type_=kind).label(column_name)
            for i, (column_name, kind) in enumerate(columns)
        )
    ).subquery(name)
