"""The daemon on a forge: cheap polling (ls-remote, fetch only on change, backing off), and staying up through an
unreachable repository, a commit with invalid YAML and a provider that times out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from reconciler.daemon.reposync import PollSchedule, RepoPoller
from reconciler.daemon.service import Daemon
from reconciler.daemon.settings import DaemonSettings
from reconciler.source.errors import GitSourceError
from reconciler.source.remote import LabMirror
from reconciler.store.instances import list_instances
from reconciler.store.tables import AuditLogRow
from tests.daemon.conftest import FakeClock
from tests.daemon.labrepo import LabRepo, lab_files, lab_yaml, resource_yaml


@pytest.fixture
def forge(tmp_path: Path) -> LabRepo:
    """A bare repository standing in for the forge, with the lab on main."""
    repo = LabRepo(tmp_path / "forge.git", bare=True)
    repo.commit(lab_files(3), "initial lab")
    return repo


def test_poll_fetches_only_when_the_head_moves_and_backs_off(forge: LabRepo, tmp_path: Path,
                                                             clock: FakeClock) -> None:
    mirror = LabMirror(forge.url, tmp_path / "mirror.git", env={})
    poller = RepoPoller(mirror, PollSchedule(base=30, cap=300))
    first = poller.poll(clock())
    assert first.polled and first.changed and mirror.local_head() == forge.head()
    objects_after_clone = sum(1 for _ in (tmp_path / "mirror.git" / "objects").rglob("*") if _.is_file())
    delays = []
    for _ in range(6):
        clock.advance(seconds=poller.schedule.delay)
        result = poller.poll(clock())
        assert result.polled and not result.changed
        delays.append(poller.schedule.delay)
    assert delays == [60, 120, 240, 300, 300, 300], "unchanged: the ls-remote cadence doubles up to the cap"
    objects_now = sum(1 for _ in (tmp_path / "mirror.git" / "objects").rglob("*") if _.is_file())
    assert objects_now == objects_after_clone, "an unchanged head fetches nothing"
    assert not poller.poll(clock()).polled, "not due yet: not even an ls-remote"
    new_head = forge.commit({"resources/vm-9.yaml": resource_yaml("vm-9").encode()})
    clock.advance(seconds=300)
    result = poller.poll(clock())
    assert result.changed and mirror.local_head() == new_head and poller.schedule.delay == 30


def test_unreachable_forge_is_a_clear_error(tmp_path: Path) -> None:
    mirror = LabMirror((tmp_path / "nowhere.git").as_uri(), tmp_path / "m.git", env={})
    with pytest.raises(GitSourceError, match="cannot reach"):
        mirror.remote_head()


def _audit_actions(daemon: Daemon) -> list[str]:
    assert daemon.service is not None
    with daemon.service.session.db.session() as s:
        return list(s.execute(select(AuditLogRow.action).where(AuditLogRow.entity_type == "lab")
                              .order_by(AuditLogRow.seq)).scalars())


def test_daemon_survives_unreachable_repo_invalid_yaml_and_provider_timeout(
        forge: LabRepo, tmp_path: Path, db_url: str, clock: FakeClock) -> None:
    daemon = Daemon(DaemonSettings(repo_url=forge.url, state_dir=tmp_path / "state", database_url=db_url, port=0),
                    clock=clock, sleep=clock.sleep, env={})
    try:
        result = daemon.cycle()
        assert result is not None and result.status == "ok" and result.counts["applied"] == 3
        assert daemon.service is not None

        # the forge disappears: the run goes on with the last mirrored commit, and says why once
        hidden = tmp_path / "hidden.git"
        shutil.move(forge.path, hidden)
        for _ in range(2):
            clock.advance(minutes=5)
            result = daemon.cycle()
            assert result is not None and result.status == "ok"
            assert daemon.repo_error is not None and "cannot reach" in daemon.repo_error
        assert _audit_actions(daemon).count("repo-unreachable") == 1
        shutil.move(hidden, forge.path)

        # a commit with invalid YAML: recorded as invalid, nothing applied
        forge.commit({"resources/vm-0.yaml": b"kind: UniversalResource\nmetadata: {name: [\n",
                            "resources/vm-5.yaml": resource_yaml("vm-5").encode()})
        clock.advance(minutes=5)
        result = daemon.cycle()
        assert result is not None and result.status == "invalid"
        assert "vm-0.yaml" in (result.error or "")
        assert daemon.repo_error is None and "repo-reachable" in _audit_actions(daemon)
        assert "vm-5" not in {i.name for i in list_instances(daemon.service.session.db, "home")}

        # the fix plus a provider that times out on one machine: the others are applied
        forge.commit({"resources/vm-0.yaml": resource_yaml("vm-0").encode(),
                      "homeport.yaml": lab_yaml(faults={"vm-6": "transient"}).encode(),
                      "resources/vm-6.yaml": resource_yaml("vm-6").encode()})
        clock.advance(minutes=5)
        result = daemon.cycle()
        assert result is not None and result.status == "partial"
        states = {i.name: i.status for i in list_instances(daemon.service.session.db, "home")}
        assert states == {"vm-0": "running", "vm-1": "running", "vm-2": "running", "vm-5": "running",
                          "vm-6": "failed"}

        # the provider recovers: the next good run converges
        forge.commit({"homeport.yaml": lab_yaml().encode()})
        clock.advance(hours=2)
        result = daemon.cycle()
        assert result is not None and result.status == "ok"
        assert {i.status for i in list_instances(daemon.service.session.db, "home")} == {"running"}
        assert daemon.last_error is None
    finally:
        daemon.stop()


def test_daemon_poll_queues_a_cycle_only_when_the_forge_moved(forge: LabRepo, tmp_path: Path,
                                                              clock: FakeClock) -> None:
    daemon = Daemon(DaemonSettings(repo_url=forge.url, state_dir=tmp_path / "state", port=0, poll_seconds=30,
                                   database_url=f"sqlite:///{tmp_path / 'p.db'}"), clock=clock, sleep=clock.sleep,
                    env={})
    try:
        assert daemon.cycle() is not None
        clock.advance(seconds=31)
        daemon.poll()
        assert daemon._queue.empty(), "unchanged head: nothing queued"
        forge.commit({"resources/vm-8.yaml": resource_yaml("vm-8").encode()})
        daemon.poll()
        assert daemon._queue.empty(), "not due yet (backing off): the forge is not asked"
        clock.advance(seconds=61)
        daemon.poll()
        assert daemon._queue.get_nowait() == "poll"
        result = daemon.cycle("poll")
        assert result is not None and result.counts["applied"] == 1
        text = daemon.metrics.render().decode()
        assert 'homeport_repo_polls_total{result="changed"}' in text
    finally:
        daemon.stop()


def test_credentials_in_a_url_never_reach_the_error(tmp_path: Path) -> None:
    mirror = LabMirror("http://user:hunter2@127.0.0.1:9/lab.git", tmp_path / "m.git", env={})
    with pytest.raises(GitSourceError) as caught:
        mirror.remote_head()
    assert "hunter2" not in str(caught.value) and "cannot reach http://***@127.0.0.1:9/lab.git" in str(caught.value)
