"""One instance is read by an indexed lookup (name, then id, then provider id), not by listing the lab."""

from __future__ import annotations

from pathlib import Path

from reconciler.store.database import open_database
from reconciler.store.instances import find_instance, new_instance


def test_find_instance_by_name_id_or_provider_id_in_that_order(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    with db.session() as s:
        rows = [new_instance("lab", f"vm-{i}", "sim", "sim") for i in range(5)]
        for i, row in enumerate(rows):
            row.provider_id = f"sim-{i}"
        rows[3].provider_id = "vm-1"  # a provider id equal to another resource's name: the name wins
        s.add_all(rows)
        s.add(new_instance("other-lab", "vm-9", "sim", "sim"))
        s.flush()
        ids = [row.id for row in rows]
    found = find_instance(db, "lab", "vm-1")
    assert found is not None and found.name == "vm-1"
    found = find_instance(db, "lab", ids[2])
    assert found is not None and found.name == "vm-2"
    found = find_instance(db, "lab", "sim-4")
    assert found is not None and found.name == "vm-4"
    assert find_instance(db, "lab", "vm-9") is None  # another lab's
    assert find_instance(db, "lab", "nothing") is None
    db.dispose()
