from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    session: Session, model: type, conflict_columns: list[str], **values: Any
) -> Insert:
    """``INSERT .. ON CONFLICT (columns) DO NOTHING`` for the session's dialect: the unique
    constraint, not a read before the write, decides who wins a concurrent insert."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (
        module.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
    )


def conflict_free_insert(session: Session, model: type, conflict_columns: list[str]) -> Insert:
    """``INSERT .. ON CONFLICT (columns) DO NOTHING`` without values, to execute with a list of
    rows (one statement, cached once, sent as multi-row INSERTs)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
