"""Pure domain layer: no Dagster, no SQLAlchemy. Everything here is plain data and functions."""
