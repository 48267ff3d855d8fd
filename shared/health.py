"""Heartbeats of the processes without HTTP (relay, beat), and the checks `prb health` runs.

A heartbeat is a small JSON file under `data_dir` that the process rewrites after each good
pass of its loop (at most once a second). `prb health relay` fails when the last good pass
is older than `heartbeat_max_age_seconds`, and says why: the last error the loop logged,
or that no heartbeat was ever written. A file, not a Redis key, so that the relay's check
does not depend on the broker it reports on; the probe runs in the same container.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def heartbeat_path(data_dir: Path, name: str) -> Path:
    return data_dir / f"{name}.heartbeat"


class Heartbeat:
    """Call with None after a good pass, or with a one-line reason after a failed one."""

    def __init__(self, path: Path, *, min_interval: float = 1.0) -> None:
        self.path = path
        self.min_interval = min_interval
        self.ok_at: float | None = None
        self.error: str | None = None
        self.error_since: float | None = None
        self._written_at = 0.0
        self._written_error: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, error: str | None) -> None:
        now = time.time()
        if error is None:
            self.ok_at, self.error, self.error_since = now, None, None
        else:
            if self.error is None:
                self.error_since = now
            self.error = error
        # Write when the state changes, else at most once per min_interval.
        if self.error == self._written_error and now - self._written_at < self.min_interval:
            return
        self._write(now)

    def _write(self, now: float) -> None:
        data = {
            "pid": os.getpid(),
            "at": now,
            "ok_at": self.ok_at,
            "error": self.error,
            "error_since": self.error_since,
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.path)
        except OSError:
            return  # a full or read-only disk must not stop the loop; the check then reports a stale beat
        self._written_at, self._written_error = now, self.error


def check_heartbeat(path: Path, name: str, max_age: float, *, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one-line reason)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return False, f"{name}: no heartbeat at {path} (not started, or another PRB_DATA_DIR)"
    except (OSError, ValueError) as exc:
        return False, f"{name}: unreadable heartbeat {path}: {type(exc).__name__}"
    now = time.time() if now is None else now
    ok_at, error = data.get("ok_at"), data.get("error")
    if ok_at is not None and now - ok_at <= max_age:
        if error:
            return True, f"{name}: ok, last good pass {now - ok_at:.0f} s ago; now failing: {error}"
        return True, f"{name}: ok, last good pass {now - ok_at:.1f} s ago (pid {data.get('pid')})"
    if ok_at is None:
        since = f"since start ({now - data.get('at', now):.0f} s ago)"
    else:
        since = f"for {now - ok_at:.0f} s"
    cause = f"; last error: {error}" if error else "; no error logged (process stuck or gone)"
    if error is None and now - data.get("at", 0) > max_age:
        cause = f"; last heartbeat {now - data.get('at', 0):.0f} s ago (process stuck or gone)"
    return False, f"{name}: no good pass {since}{cause}"
