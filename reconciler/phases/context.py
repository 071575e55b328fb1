"""The lab session every phase works in: repository, database, chart library, providers, clock."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pygit2

from reconciler.assets import asset_dir
from reconciler.models.lab import ProviderConfig
from reconciler.models.progress import Progress, ProgressCallback, Stage
from reconciler.providers.base import Provider, ProviderContext, utc_now
from reconciler.providers.registry import build_provider
from reconciler.render.chart import Chart, ChartLibrary
from reconciler.source.gitrepo import export_tree, open_repo, tree_id
from reconciler.source.loader import LoadCache
from reconciler.store.database import Database, default_database_url, open_database
from reconciler.store.provider_state import DbProviderState


class LazyChartLibrary(ChartLibrary):
    """A chart library that reads and checks its charts on first use: a run answered from the no-op index, and
    every command that renders nothing, never pays for loading and schema-checking every chart."""

    def __init__(self, dirs: list[Path]) -> None:  # super().__init__ (the loading) runs on first use
        self._dirs = list(dirs)
        self._loaded: ChartLibrary | None = None

    def _library(self) -> ChartLibrary:
        if self._loaded is None:
            self._loaded = ChartLibrary(self._dirs)
        return self._loaded

    @property
    def charts(self) -> dict[str, Chart]:
        """Charts by name (read on first use)."""
        return self._library().charts

    @charts.setter
    def charts(self, value: dict[str, Chart]) -> None:
        self._library().charts = value

    @property
    def broken(self) -> dict[str, str]:
        """Chart folders that could not be loaded, and why (read on first use)."""
        return self._library().broken

    @broken.setter
    def broken(self, value: dict[str, str]) -> None:
        self._library().broken = value


@dataclass
class LabSession:
    """One open lab: everything phases need, opened once per command or daemon."""

    lab_dir: Path
    repo: pygit2.Repository
    db: Database
    charts: ChartLibrary
    cache: LoadCache = field(default_factory=LoadCache)
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    actor: str = "homeport"
    actor_kind: str = "human"
    providers: dict[str, Provider] = field(default_factory=dict)
    provider_configs: dict[str, ProviderConfig] = field(default_factory=dict)
    _chart_libraries: dict[str, ChartLibrary] = field(default_factory=dict)
    progress: ProgressCallback | None = None  # told about each step of a long apply/render/validate

    def report(self, stage: Stage, done: int, total: int, item: str = "") -> None:
        """Tell the progress listener, if any, how far a long step is."""
        if self.progress is not None:
            self.progress(Progress(stage=stage, done=done, total=total, item=item))

    @classmethod
    def open(
        cls,
        lab_dir: Path,
        *,
        database_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        actor: str = "homeport",
        actor_kind: str = "human",
    ) -> LabSession:
        """Open the lab's repository and database (migrating it if needed)."""
        lab_dir = lab_dir.resolve()
        repo = open_repo(lab_dir)
        db = open_database(database_url or default_database_url(lab_dir))
        charts = LazyChartLibrary([asset_dir("charts")])
        return cls(
            cache=LoadCache(disk=lab_dir / ".homeport" / "parse-cache.json"),
            lab_dir=lab_dir,
            repo=repo,
            db=db,
            charts=charts,
            clock=clock or utc_now,
            sleep=sleep or time.sleep,
            actor=actor,
            actor_kind=actor_kind,
            _chart_libraries={"": charts},
        )

    def charts_for(self, commit: pygit2.Commit) -> ChartLibrary:
        """homeport's charts plus the lab's own `charts/` at this commit (lab charts win by name)."""
        lab_tree = tree_id(commit, "charts")
        if lab_tree is None:
            return self._builtin_charts()
        cached = self._chart_libraries.get(lab_tree)
        if cached is not None:
            return cached
        target = self.state_dir / "charts" / lab_tree
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".charts-", dir=target.parent))
            try:
                export_tree(self.repo, commit, "charts", staging)
                try:
                    staging.rename(target)
                except OSError:  # another process exported the same tree first
                    shutil.rmtree(staging, ignore_errors=True)
            finally:
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
        library = LazyChartLibrary([asset_dir("charts"), target])
        self._chart_libraries[lab_tree] = library
        return library

    def _builtin_charts(self) -> ChartLibrary:
        builtin = self._chart_libraries.get("")
        if builtin is None:
            builtin = LazyChartLibrary([asset_dir("charts")])
            self._chart_libraries[""] = builtin
        return builtin

    @property
    def state_dir(self) -> Path:
        """<lab>/.homeport: lock files and provider work folders (never committed)."""
        return self.lab_dir / ".homeport"

    @property
    def rendered_dir(self) -> Path:
        """Where `homeport render` writes."""
        return self.lab_dir / "rendered-configs"

    def provider(self, lab: str, name: str, config: ProviderConfig) -> Provider:
        """The provider instance called name (built once per session, rebuilt when its config changes)."""
        existing = self.providers.get(name)
        if existing is not None and self.provider_configs.get(name) == config:
            return existing
        if existing is not None:
            existing.close()
        work_dir = self.state_dir / "work" / name
        ctx = ProviderContext(
            lab=lab,
            name=name,
            config=config,
            state=DbProviderState(self.db, lab, name),
            work_dir=work_dir,
            clock=self.clock,
            sleep=self.sleep,
        )
        provider = build_provider(ctx)
        self.providers[name] = provider
        self.provider_configs[name] = config
        return provider

    def close(self) -> None:
        """Close providers and the database."""
        for provider in self.providers.values():
            provider.close()
        self.providers.clear()
        self.db.dispose()
