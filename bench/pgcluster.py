"""A PostgreSQL 15 for benches: the server in --database-url, else a throwaway cluster (as the tests use)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.backends.postgres import ThrowawayCluster, pg_bin_dir


@contextmanager
def postgres_database(url: str | None) -> Iterator[str]:
    """Yield url as given, or a fresh database on a throwaway cluster stopped afterwards."""
    if url:
        yield url
        return
    cluster = ThrowawayCluster(pg_bin_dir())
    try:
        server = cluster.start()
        yield server.create_database("hp_bench")
    finally:
        cluster.stop()
