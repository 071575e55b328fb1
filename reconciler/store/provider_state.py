"""ProviderState backed by the provider_state table (each write committed at once)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, cast, delete, select

from reconciler.store.database import Database
from reconciler.store.tables import ProviderStateRow, now_utc


class DbProviderState:
    """Durable key/value state of one provider instance of one lab."""

    def __init__(self, db: Database, lab: str, provider: str) -> None:
        self.db = db
        self.lab = lab
        self.provider = provider

    def get(self, key: str) -> Any | None:
        """The value under key, or None."""
        with self.db.session() as s:
            row = s.get(ProviderStateRow, (self.lab, self.provider, key))
            return None if row is None else row.value

    def put(self, key: str, value: Any) -> None:
        """Store value under key."""
        with self.db.session() as s:
            row = s.get(ProviderStateRow, (self.lab, self.provider, key))
            if row is None:
                s.add(ProviderStateRow(lab=self.lab, provider=self.provider, key=key, value=value))
            else:
                row.value = value
                row.updated_at = now_utc()

    def delete(self, key: str) -> None:
        """Forget key."""
        with self.db.session() as s:
            s.execute(
                delete(ProviderStateRow).where(
                    ProviderStateRow.lab == self.lab,
                    ProviderStateRow.provider == self.provider,
                    ProviderStateRow.key == key,
                )
            )

    def items(self, prefix: str = "") -> dict[str, Any]:
        """Every key starting with prefix, in one query."""
        with self.db.session() as s:
            stmt = select(ProviderStateRow.key, ProviderStateRow.value).where(
                ProviderStateRow.lab == self.lab, ProviderStateRow.provider == self.provider
            )
            if prefix:
                stmt = stmt.where(ProviderStateRow.key.startswith(prefix, autoescape=True))
            return {k: v for k, v in s.execute(stmt)}

    def items_text(self, prefix: str = "") -> dict[str, str]:
        """Every key starting with prefix and its value as the database's JSON text, unparsed (for fingerprints:
        the same stored value always gives the same text)."""
        with self.db.session() as s:
            stmt = select(ProviderStateRow.key, cast(ProviderStateRow.value, Text)).where(
                ProviderStateRow.lab == self.lab, ProviderStateRow.provider == self.provider
            )
            if prefix:
                stmt = stmt.where(ProviderStateRow.key.startswith(prefix, autoescape=True))
            return {k: v or "" for k, v in s.execute(stmt)}
