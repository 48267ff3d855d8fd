"""Build a migrated runtime and deliver pending events deterministically."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from eigenregie.bootstrap import build_runtime
from shared.bus.embedded import InProcessPublisher
from shared.bus.relay import OutboxRelay
from shared.config import Settings
from shared.migrations import upgrade
from shared.runtime import Runtime

_template: Path | None = None
_template_lock = threading.Lock()


def migrate(runtime: Runtime) -> Runtime:
    for spec in runtime.specs:
        upgrade(runtime.engine, spec.name, spec.migrations)
    return runtime


def _sqlite_template() -> Path:
    """Migrate an embedded (SQLite) database once per test process; later runtimes copy its files."""
    global _template
    with _template_lock:
        if _template is None:
            folder = Path(tempfile.mkdtemp(prefix="prb-template-"))
            runtime = migrate(build_runtime(Settings(data_dir=folder, environment="test")))
            runtime.engine.dispose()  # the last connection closing folds the WAL into the files
            _template = folder
    return _template


def migrated_runtime(settings: Settings, **kwargs: Any) -> Runtime:
    if settings.database_url is None and not kwargs.get("engine_override"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        for path in _sqlite_template().glob("eigenregie*.db"):
            target = settings.data_dir / path.name
            if not target.exists():
                shutil.copyfile(path, target)
    return migrate(build_runtime(settings, **kwargs))  # a copied template is at head: Alembic only checks


def drain(runtime: Runtime) -> int:
    """Handle every event waiting in any outbox, in-process; returns how many moved."""
    publisher = InProcessPublisher(runtime.engine, runtime.handlers_by_service(),
                                   max_attempts=runtime.settings.event_max_attempts, retry_base_seconds=0.01,
                                   clock=runtime.clock)
    relay = OutboxRelay(runtime.engine, runtime.service_names, publisher)
    total = 0
    while moved := relay.run_once():
        total += moved
    return total
