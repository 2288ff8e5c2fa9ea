"""Rows sent as a table in one statement (``db/row_parameters.py``), on SQLite and PostgreSQL:
every value comes back as sent, NULLs and 64-bit integers included, and the statement is the
same (one cached compilation) whatever the number of rows."""

from sqlalchemy import select

from jrn_dagster.db.row_parameters import BIG_INTEGER, TEXT, row_parameters
from jrn_dagster.db.unit_of_work import Database

COLUMNS = [("name", TEXT), ("number", BIG_INTEGER)]


def test_rows_come_back_as_sent(database: Database) -> None:
    rows = [("a", None), ("b", 2**63 - 1), ('it\'s "quoted"', -(2**63)), ("é/ü", 0)]
    with database.unit_of_work() as uow:
        table = row_parameters(uow.session, "sent", COLUMNS, rows)
        back = uow.session.execute(select(table.c.name, table.c.number)).all()
    assert [tuple(row) for row in back] == rows


def test_the_statement_does_not_depend_on_the_number_of_rows(database: Database) -> None:
    with database.unit_of_work() as uow:
        few = select(row_parameters(uow.session, "sent", COLUMNS, [("a", 1)]))
        many = select(row_parameters(uow.session, "sent", COLUMNS, [("a", 1)] * 500))
        dialect = uow.session.get_bind().dialect
        assert str(few.compile(dialect=dialect)) == str(many.compile(dialect=dialect))
        assert len(uow.session.execute(many).all()) == 500
