"""The record of what happened: SQLAlchemy tables, sessions and queries (SQLite default, PostgreSQL)."""
