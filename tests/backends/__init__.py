"""Real backends for tests (PostgreSQL, ...), each a module of pytest fixtures."""
