"""Suite-wide fixtures: the real PostgreSQL 15 backend (`pg_server`, `pg_url`) is available to every test."""

pytest_plugins = ["tests.backends.postgres"]
