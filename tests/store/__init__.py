"""Store tests: migrations, schema and run locks on SQLite and real PostgreSQL."""
