"""Persistence: SQLAlchemy 2.x models, migrations, engine, repositories (SQLite, PostgreSQL)."""
