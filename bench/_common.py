"""Helpers the benchmarks share: scratch PostgreSQL databases, pgbench as the raw limit, CPU
accounting from /proc, percentiles, and a main() that always tears down (also on Ctrl-C).

Not a test: nothing in bench/ runs under pytest (pytest's testpaths is tests/).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ADMIN_URL = os.environ.get("PRB_BENCH_POSTGRES_URL",
                           os.environ.get("PRB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
DISTURBED = 20.0  # % of one core used by other processes during a phase: above this, repeat the phase


# --- helpers ---------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not values:
        return float("nan")
    rank = max(1, min(len(values), int(-(-p * len(values) // 100))))
    return values[rank - 1]


def summary_ms(values: list[float]) -> dict[str, float]:
    v = sorted(x * 1000 for x in values)
    return {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "p99": pct(v, 99), "max": v[-1] if v else float("nan"),
            "mean": sum(v) / len(v) if v else float("nan")}


def fmt_ms(s: dict[str, float]) -> str:
    return (f"p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  p99 {s['p99']:7.1f}  max {s['max']:7.1f}  "
            f"mean {s['mean']:6.1f} ms  (n={s['n']})")


def pg_conninfo(sa_url: str, database: str | None = None) -> dict[str, str]:
    import sqlalchemy as sa

    url = sa.engine.make_url(sa_url)
    if database:
        url = url.set(database=database)
    return {"host": url.host or "127.0.0.1", "port": str(url.port or 5432), "user": url.username or "postgres",
            "database": url.database or "postgres", "password": url.password or "",
            "url": url.render_as_string(hide_password=False)}


def pg_env(info: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "PGHOST": info["host"], "PGPORT": info["port"], "PGUSER": info["user"]}
    if info["password"]:
        env["PGPASSWORD"] = info["password"]
    return env


# --- CPU accounting from /proc (no psutil in the venv) ---------------------------------------


def _proc_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def _pg_backends(dbname: str) -> dict[int, float]:
    """CPU seconds of PostgreSQL backends serving `dbname`, plus the server's own helpers."""
    out: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if not cmd.startswith("postgres:"):
            continue
        helper = any(k in cmd for k in ("walwriter", "checkpointer", "background writer", "autovacuum"))
        if f" {dbname} " in cmd or helper:
            cpu = _proc_cpu(int(entry))
            if cpu is not None:
                out[int(entry)] = cpu
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _find_pid(comm: str) -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == comm:
                        return int(entry)
            except OSError:
                continue
    return None


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def _descendants(pid: int, kids: dict[int, list[int]]) -> list[int]:
    """The process and its children (prefork pool processes), not the spawned producers."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _system_busy() -> tuple[float, float, float]:
    """(busy, total, irq + softirq + steal) CPU seconds of the whole machine."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    idle = parts[3] + parts[4]
    return (sum(parts) - idle) / CLK_TCK, sum(parts) / CLK_TCK, (parts[5] + parts[6] + parts[7]) / CLK_TCK


def wait_for_quiet(max_busy: float, timeout: float, what: str) -> float:
    """Wait until the machine is (nearly) idle for a second, so other work does not disturb a phase.

    Returns the busy % (of one core) of the last second; between phases our own processes idle.
    """
    if timeout <= 0:
        return 0.0
    deadline = time.monotonic() + timeout
    warned = False
    while True:
        a = _system_busy()
        time.sleep(1.0)
        b = _system_busy()
        busy = (b[0] - a[0]) / (b[1] - a[1]) * 100 * (os.cpu_count() or 1) if b[1] > a[1] else 0.0
        if busy <= max_busy:
            return busy
        if time.monotonic() > deadline:
            log(f"  machine still {busy:.0f} % busy before {what}; going ahead (figures may be disturbed)")
            return busy
        if not warned:
            log(f"  machine {busy:.0f} % busy (other work); waiting up to {timeout:.0f} s for quiet before {what}")
            warned = True


class CpuMeter:
    """CPU seconds per component between start() and stop(), as % of one core."""

    def __init__(self, dbname: str, pids: dict[str, int], *, redis: bool = True) -> None:
        self.dbname = dbname
        self.pids = {**pids, "bench (this process)": os.getpid()}
        redis_pid = _find_pid("redis-server") if redis else None
        if redis_pid:
            self.pids["redis-server"] = redis_pid
        self.extra: dict[str, float] = {}

    def _snap(self) -> dict[str, Any]:
        kids = _children()
        groups = {name: _descendants(pid, kids) if pid != os.getpid() else [pid] for name, pid in self.pids.items()}
        named = {name: sum(_proc_cpu(p) or 0.0 for p in pids) for name, pids in groups.items()}
        # Ours: everything this process started (relay, workers, producers) and our database's backends.
        ours = {p for pids in groups.values() for p in pids} | set(_descendants(os.getpid(), kids))
        everyone = {int(e): _proc_cpu(int(e)) or 0.0 for e in os.listdir("/proc") if e.isdigit()}
        return {"named": named, "pg": _pg_backends(self.dbname), "sys": _system_busy(), "t": time.monotonic(),
                "ours": ours, "all": everyone}

    def start(self) -> None:
        self.a = self._snap()

    def stop(self) -> dict[str, float]:
        b = self._snap()
        wall = b["t"] - self.a["t"]
        res = {name: (b["named"][name] - self.a["named"][name]) / wall * 100 for name in self.pids}
        pg = sum(cpu - self.a["pg"].get(pid, 0.0) for pid, cpu in b["pg"].items())
        res["postgresql"] = pg / wall * 100
        for name, secs in self.extra.items():
            res[name] = secs / wall * 100
        ours = self.a["ours"] | b["ours"] | set(self.a["pg"]) | set(b["pg"])
        others = sorted(((cpu - self.a["all"].get(pid, 0.0), pid) for pid, cpu in b["all"].items()
                         if pid not in ours), reverse=True)[:3]
        self.others = [(f"{_cmdline(pid)[:60]} (pid {pid})", secs / wall * 100) for secs, pid in others
                       if secs / wall * 100 >= 1.0]
        busy = b["sys"][0] - self.a["sys"][0]
        total = b["sys"][1] - self.a["sys"][1]
        res["_machine_busy"] = busy / total * 100 * (os.cpu_count() or 1) if total else 0.0
        res["_irq"] = (b["sys"][2] - self.a["sys"][2]) / total * 100 * (os.cpu_count() or 1) if total else 0.0
        res["_wall"] = wall
        res["_others"] = self.others  # type: ignore[assignment]
        return res


def other_load(cpu: dict[str, float]) -> float:
    """% of one core used by processes that are not ours (never negative: stime includes some softirq)."""
    return max(0.0, cpu["_machine_busy"] - cpu["_irq"] - sum(v for k, v in cpu.items() if not k.startswith("_")))


def cpu_ms_per_event(cpu: dict[str, float], events: int) -> dict[str, float]:
    return {k: round(v / 100 * cpu["_wall"] / events * 1000, 3) for k, v in cpu.items() if not k.startswith("_")}


def fmt_cpu(cpu: dict[str, float], events: int, ceiling: bool = False, unit: str = "event") -> str:
    """% of one core per component, and CPU milliseconds per event (or per `unit`)."""
    rows = sorted(((k, v) for k, v in cpu.items() if not k.startswith("_")), key=lambda kv: -kv[1])
    others = "; ".join(f"{name}: {v:.0f} %" for name, v in cpu.get("_others", [])) or "none over 1 %"
    per_event = lambda v: v / 100 * cpu["_wall"] / events * 1000  # noqa: E731
    ours = sum(v for _, v in rows)
    lines = [f"      {k:<22} {v:6.1f} %   {per_event(v):5.2f} ms CPU/{unit}" for k, v in rows if v >= 0.05]
    total_ms = per_event(ours)
    bound = (f" => at most {(os.cpu_count() or 1) * 1000 / total_ms:.0f} {unit}s/s on {os.cpu_count()} cores"
             if ceiling else "")
    lines.append(f"      {'(sum of the above)':<22} {ours:6.1f} %   {total_ms:5.2f} ms CPU/{unit}{bound}")
    other = other_load(cpu)
    lines.append(f"      machine busy {cpu['_machine_busy']:.0f} % of {100 * (os.cpu_count() or 1)} %, of which "
                 f"interrupts/softirq/steal {cpu['_irq']:.0f} % and other processes {other:.0f} %")
    lines.append(f"      busiest other processes: {others}")
    if other > DISTURBED:
        lines.append("      WARNING: other load on the machine; these figures are disturbed, run again when it is quiet")
    return "\n".join(lines)


# --- scratch databases, pgbench, teardown ----------------------------------------------------


class ScratchBench:
    """A benchmark run: its scratch databases, its processes and its results; dropped in teardown()."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tag = uuid.uuid4().hex[:8]
        self.dbname = f"prb_bench_{self.tag}"
        self.pgbench_db = f"prb_bench_pgbench_{self.tag}"
        self.admin_url = args.postgres_url
        self.db = pg_conninfo(self.admin_url, self.dbname)
        self.log_dir = Path(tempfile.mkdtemp(prefix="prb-bench-"))
        self.created_dbs: list[str] = []
        self.procs: Any = None
        self.engine: Any = None
        self.results: dict[str, Any] = {}

    def admin(self) -> Any:
        import sqlalchemy as sa

        return sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def create_db(self, name: str) -> None:
        import sqlalchemy as sa

        eng = self.admin()
        with eng.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        self.created_dbs.append(name)

    def drop_db(self, name: str) -> None:
        import sqlalchemy as sa

        eng = self.admin()
        with eng.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()
        if name in self.created_dbs:
            self.created_dbs.remove(name)

    def teardown_extra(self) -> None:
        """What a benchmark cleans up besides processes, engine, databases and logs."""

    def teardown(self) -> None:
        if self.procs is not None:
            self.procs.stop()
        if self.engine is not None:
            self.engine.dispose()
        keep = self.args.keep_db
        for name in list(self.created_dbs):
            if not (keep and name == self.dbname):
                self.drop_db(name)
        self.teardown_extra()
        if keep:
            log(f"kept database {self.dbname} ({self.db['url']}) and logs in {self.log_dir}")
        else:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def copy(self, table: str, columns: tuple[str, ...], rows: Any) -> int:
        """Load rows into `table` with COPY through this run's engine (set-up, not measured); how many."""
        count = 0
        raw = self.engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            raw.commit()
        finally:
            raw.close()
        return count

    def check_alive(self) -> None:
        for name, proc in self.procs.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.procs.tail(name)}")

    def server_version(self) -> str:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return conn.execute(sa.text("SHOW server_version")).scalar_one().split()[0]

    def pgbench(self) -> None:
        """The raw limit of this PostgreSQL: `pgbench -c 8 -j 2 -T <s> -N` on its own scratch database."""
        a = self.args
        self.create_db(self.pgbench_db)
        env = pg_env(pg_conninfo(self.admin_url, self.pgbench_db))
        subprocess.run(["pgbench", "-i", "-q", "-s", str(a.pgbench_scale), self.pgbench_db], env=env, check=True,
                       capture_output=True, text=True)
        cmd = ["pgbench", "-c", "8", "-j", "2", "-T", str(a.pgbench_seconds), "-N", self.pgbench_db]
        attempts: list[tuple[float, float, float | None]] = []  # (other load, TPS, latency)
        for attempt in range(1, a.retries + 2):
            wait_for_quiet(a.quiet_below, a.quiet_timeout, "pgbench")
            log(f"pgbench: {' '.join(cmd)} (scale {a.pgbench_scale})")
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # CPU of the middle of the run, while pgbench and its backends are alive (once they exit,
            # /proc no longer has their CPU time and it would count as other processes).
            meter = CpuMeter(self.pgbench_db, {"pgbench": proc.pid}, redis=False)
            time.sleep(0.5)
            meter.start()
            time.sleep(max(0.5, a.pgbench_seconds - 1.5))
            cpu = meter.stop()
            stdout, stderr = proc.communicate()
            m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", stdout)
            lat = re.search(r"latency average = ([\d.]+) ms", stdout)
            if proc.returncode != 0 or not m:
                raise RuntimeError(f"pgbench failed or could not be parsed:\n{stdout}\n{stderr}")
            attempts.append((other_load(cpu), float(m.group(1)), float(lat.group(1)) if lat else None))
            log(f"pgbench simple-update: {attempts[-1][1]:.0f} TPS, avg latency {attempts[-1][2]} ms; "
                f"other processes {attempts[-1][0]:.0f} % of a core")
            if attempts[-1][0] <= DISTURBED:
                break
            if attempt <= a.retries:
                log(f"  pgbench disturbed by other processes; running it again ({attempt}/{a.retries})")
        load, tps, latency = min(attempts)
        self.results.update(pgbench_tps=tps, pgbench_latency_ms=latency, pgbench_other_load=load,
                            pgbench_attempts=[(round(x[0], 1), round(x[1])) for x in attempts])
        self.drop_db(self.pgbench_db)


def add_common_args(p: argparse.ArgumentParser, *, log_level: str) -> None:
    """The options every benchmark has: PostgreSQL, pgbench, waiting for quiet, output, keeping the db."""
    p.add_argument("--log-level", default=log_level, help="PRB_LOG_LEVEL of the processes the benchmark starts")
    p.add_argument("--pgbench-seconds", type=int, default=10)
    p.add_argument("--pgbench-scale", type=int, default=1)
    p.add_argument("--quiet-below", type=float, default=25.0,
                   help="before each phase, wait until the machine is less busy than this (%% of one core)")
    p.add_argument("--quiet-timeout", type=float, default=30.0, help="how long to wait for that; 0 = do not wait")
    p.add_argument("--retries", type=int, default=1,
                   help=f"repeat a phase this often when other processes used more than {DISTURBED:.0f} %% of a core")
    p.add_argument("--postgres-url", default=ADMIN_URL, help="admin URL; scratch databases are created beside it")
    p.add_argument("--json", help="also write all figures to this file")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database and the process logs")


def run_guarded(bench: ScratchBench, body: Callable[[], bool]) -> int:
    """Run `body` and always tear down (also on Ctrl-C and SIGTERM).

    Exit status: 0 if every target is met, 2 if one is missed, 1 on an error, 130 when interrupted."""

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        ok = body()
    except KeyboardInterrupt:
        log("interrupted: tearing down")
        return 130
    except Exception as exc:  # noqa: BLE001 - report, tear down, exit non-zero
        log(f"benchmark failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # finish the teardown even if Ctrl-C is pressed again
        bench.teardown()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return 0 if ok else 2
