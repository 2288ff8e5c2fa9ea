"""Repositories: the only code that touches ORM rows. They return pydantic records."""
