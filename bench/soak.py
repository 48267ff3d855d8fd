#!/usr/bin/env python
"""Soak: the whole system, distributed, under a steady mixed load for several minutes, measured.

    .venv/bin/python bench/soak.py [--minutes 5] [--rate 4] [--workers 16] [--json out.json]

One run:

1. a scratch PostgreSQL database (`prb_bench_<id>`, `prb migrate`) and a private `redis-server` on a
   free port (both dropped afterwards);
2. `prb serve`, `prb worker` for each of the four services, `prb relay` and `prb beat` as real processes;
3. a steady mixed load at `--rate` operations per second for `--minutes`: clients registered, plans
   created, submitted and approved (intake); the budget looked up once the event opened it, an invoice
   received, confirmed by the client and approved (budget); a progress report (monitoring); and every
   `--reminder-every` seconds one of the daily reminder scans sent to its worker as beat would (the
   scans are daily in beat's table, too slow for a soak);
4. every 10 s a sample: RSS of each process (VmRSS of the process and its children, from /proc), the
   p50/p95/p99 latency of the operations that ended in the window, the outbox backlog and the age of its
   oldest event (each API's /metrics), and the events consumed (rows added to the inboxes);
5. a table per window and a verdict: per process, memory in the last third of the run against the middle
   third (levelling off passes, still climbing fails); latency not trending up; the backlog returning to
   0 once the load stops; no 5xx answer.

Exit 0 if every verdict passes, 1 if one fails or on an error, 130 when interrupted.
Not a test: pytest does not collect bench/ (tests/e2e/test_soak.py runs the same code briefly).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for _p in (str(REPO), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import ADMIN_URL, log, pct  # noqa: E402

SERVICES = ("intake", "budget", "monitoring", "notifications")
MUNICIPALITY = "0014"  # Groningen: the client confirms an invoice before finance approves it
SAMPLE_SECONDS = 10.0
REMINDER_JOBS = (
    ("monitoring", "monitoring.flag_overdue_follow_ups"),
    ("monitoring", "monitoring.remind_follow_ups_due_soon"),
    ("monitoring", "monitoring.remind_trajectories_ending_soon"),
    ("intake", "intake.warn_decision_deadlines"),
    ("intake", "intake.remind_orientations_ending"),
)
TEAM = 8  # case managers and finance staff the load spreads over
RETRY_SECONDS = 0.5  # a step that waits for an event (budget opened, trajectory made) tries again after this

# Verdict limits (see docs/reliability.md, "Soak").
MEMORY_REL = 0.03  # last third's mean RSS may exceed the middle third's by 3 % ...
MEMORY_ABS_KIB = 4 * 1024  # ... or by 4 MiB, whichever is larger
LATENCY_FACTOR = 1.5  # last third's median p95 at most 1.5 x the middle third's ...
LATENCY_SLACK_MS = 20.0  # ... plus 20 ms
OLDEST_MAX_SECONDS = 30.0  # no event waits this long for the relay during the load


# --- verdicts (pure functions: tests/e2e/test_soak.py feeds them synthetic series too) ----------------


@dataclass(frozen=True)
class Verdict:
    what: str
    ok: bool
    detail: str


def _thirds(series: Sequence[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    k = len(series) // 3
    return list(series[:k]), list(series[k : 2 * k]), list(series[2 * k :])


def memory_verdict(name: str, rss_kib: Sequence[float], *, rel: float = MEMORY_REL,
                   abs_kib: float = MEMORY_ABS_KIB) -> Verdict:
    """RSS that levels off passes; RSS still climbing in the last third (against the middle third) fails."""
    if len(rss_kib) < 3:
        return Verdict(f"memory {name}", False, f"only {len(rss_kib)} samples; need at least 3")
    _, middle, last = _thirds(rss_kib)
    m, la = statistics.fmean(middle), statistics.fmean(last)
    allowed = max(rel * m, abs_kib)
    return Verdict(f"memory {name}", la - m <= allowed,
                   f"middle third {m / 1024:.1f} MiB, last third {la / 1024:.1f} MiB: "
                   f"{(la - m) / 1024:+.1f} MiB (allowed +{allowed / 1024:.1f})")


def latency_verdict(p50_ms: Sequence[float], p95_ms: Sequence[float], *, factor: float = LATENCY_FACTOR,
                    slack_ms: float = LATENCY_SLACK_MS) -> Verdict:
    """Latency not trending up: the median over the last third's windows of their p50 at most `factor` x the
    middle third's + slack, and of their p95 at most twice the middle third's + 2.5 x slack (a p95 of a
    10 s window rests on a few slow calls, so one disturbed window moves it)."""
    pairs = [(a, b) for a, b in zip(p50_ms, p95_ms, strict=True) if a == a and b == b]  # NaN: no operations
    if len(pairs) < 3:
        return Verdict("latency", False, f"only {len(pairs)} windows with operations; need at least 3")
    _, middle, last = _thirds(pairs)
    m50, l50 = statistics.median(p[0] for p in middle), statistics.median(p[0] for p in last)
    m95, l95 = statistics.median(p[1] for p in middle), statistics.median(p[1] for p in last)
    lim50, lim95 = m50 * factor + slack_ms, m95 * 2 + slack_ms * 2.5
    return Verdict("latency", l50 <= lim50 and l95 <= lim95,
                   f"p50 middle third {m50:.0f} ms, last third {l50:.0f} ms (limit {lim50:.0f}); "
                   f"p95 {m95:.0f} ms, {l95:.0f} ms (limit {lim95:.0f})")


def backlog_verdict(oldest_s: Sequence[float], backlog_after: int | None, drained_in: float | None) -> Verdict:
    """The outbox empties once the load stops, and no event waited long during it."""
    worst = max(oldest_s, default=0.0)
    ok = backlog_after == 0 and worst <= OLDEST_MAX_SECONDS
    drained = f"0 after {drained_in:.1f} s" if drained_in is not None else f"still {backlog_after} after the wait"
    return Verdict("backlog", ok, f"oldest waiting event at most {worst:.1f} s (limit {OLDEST_MAX_SECONDS:.0f}); "
                                  f"after the load: {drained}")


def errors_verdict(server_errors: int, failures: int, operations: int) -> Verdict:
    return Verdict("answers", server_errors == 0 and failures == 0 and operations > 0,
                   f"{operations} operations, {server_errors} answered 5xx, {failures} failed otherwise")


# --- processes ----------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """VmRSS of a process and its children (a prefork pool's), in KiB; 0 once it is gone."""
    total = 0
    todo = [pid]
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    kids.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
            total += int(m.group(1)) if m else 0
        except OSError:
            continue
    return total


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence."""

    def __init__(self) -> None:
        from tests.support.environment import free_port

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server not found on the PATH")
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


# --- the load -----------------------------------------------------------------------------------------


@dataclass
class Op:
    kind: str
    ended: float  # monotonic
    seconds: float
    status: int  # HTTP status; 0 = no answer (connection error, timeout)


@dataclass
class Case:
    n: int
    client_id: str = ""
    plan_id: str = ""
    version: int = 0
    budget_id: str = ""
    line_id: str = ""
    invoice_id: str = ""


def soak_bsn(n: int) -> str:
    """A distinct test BSN (it passes the 11-test) for case n: the first valid one from 999000000 + 100 n
    (one in about eleven numbers is valid, so a hundred apart never meet; tests.support's test_bsn steps 10)."""
    from shared.identifiers import is_valid_bsn

    candidate = 999_000_000 + 100 * n
    while not is_valid_bsn(f"{candidate:09d}"):
        candidate += 1
    return f"{candidate:09d}"


Step = Callable[[Case], "tuple[float, Callable[[Case], Any]] | None"]


class Load:
    """Operations at a fixed rate: the next waiting step of a case if one is due, else a new case."""

    def __init__(self, urls: dict[str, str], rate: float, workers: int, broker_url: str) -> None:
        import httpx
        from celery import Celery

        from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
        from tests.support.auth import auth

        self.urls, self.rate = urls, rate
        self.http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=workers * 2))
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.celery = Celery(broker=broker_url)
        # Several case managers and finance staff: the API's rate limit (600/minute) is per user.
        self.kms = [auth("case_manager", MUNICIPALITY, subject=f"km-soak-{i}") for i in range(TEAM)]
        self.fins = [auth("finance", MUNICIPALITY, subject=f"fin-soak-{i}") for i in range(TEAM)]
        self.auth, self.facts, self.example_plan = auth, ELIGIBLE_FACTS, example_plan
        self.lock = threading.Lock()
        self.waiting: list[tuple[float, Step, Case]] = []  # (not before, step, case)
        self.ops: list[Op] = []
        self.cases = itertools.count(1)
        self.finished_cases = 0
        self.failures: list[str] = []
        self.reminders_sent = 0

    def km(self, c: Case) -> dict[str, str]:
        return self.kms[c.n % TEAM]

    def fin(self, c: Case) -> dict[str, str]:
        return self.fins[c.n % TEAM]

    # each step is one HTTP call; it returns (delay, next step) or None when the case is done

    def _call(self, kind: str, method: str, url: str, **kwargs: Any) -> Any:
        import httpx

        started = time.monotonic()
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self._record(Op(kind, time.monotonic(), time.monotonic() - started, 0))
            raise RuntimeError(f"{kind}: {type(exc).__name__}") from exc
        self._record(Op(kind, time.monotonic(), time.monotonic() - started, response.status_code))
        return response

    def _record(self, op: Op) -> None:
        with self.lock:
            self.ops.append(op)

    @staticmethod
    def _expect(response: Any, kind: str, *codes: int) -> Any:
        if response.status_code not in codes:
            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
        return response.json()

    def register(self, c: Case) -> tuple[float, Step]:
        r = self._call("register client", "POST", f"{self.urls['intake']}/intake/v1/clients", headers=self.km(c), json={
            "bsn": soak_bsn(c.n), "client_number": f"S{c.n}", "name": f"Soak {c.n}", "language": "nl",
            "facts": self.facts})
        c.client_id = self._expect(r, "register client", 201)["id"]
        return 0.0, self.plan

    def plan(self, c: Case) -> tuple[float, Step]:
        r = self._call("create plan", "POST", f"{self.urls['intake']}/intake/v1/plans", headers=self.km(c), json={
            "client_id": c.client_id, **self.example_plan("Plan", [("Coaching", "coaching", "Coach BV", "1000.00")])})
        body = self._expect(r, "create plan", 201)
        c.plan_id, c.version = body["id"], body["version"]
        return 0.0, self.submit

    def submit(self, c: Case) -> tuple[float, Step]:
        r = self._call("submit plan", "POST", f"{self.urls['intake']}/intake/v1/plans/{c.plan_id}/submit",
                       headers=self.km(c), json={"plan_version": c.version})
        c.version = self._expect(r, "submit plan", 200)["version"]
        return 0.0, self.approve

    def approve(self, c: Case) -> tuple[float, Step]:
        r = self._call("approve plan", "POST", f"{self.urls['intake']}/intake/v1/plans/{c.plan_id}/decisions",
                       headers=self.km(c), json={"plan_version": c.version, "kind": "approve", "note": "Goed plan"})
        self._expect(r, "approve plan", 200)
        return RETRY_SECONDS, self.find_budget

    def find_budget(self, c: Case) -> tuple[float, Step]:
        r = self._call("find budget", "GET", f"{self.urls['budget']}/budget/v1/budgets", headers=self.fin(c),
                       params={"plan_id": c.plan_id})
        budgets = self._expect(r, "find budget", 200)
        if not budgets:  # PlanApproved not handled yet
            return RETRY_SECONDS, self.find_budget
        c.budget_id, c.line_id = budgets[0]["id"], budgets[0]["lines"][0]["id"]
        return 0.0, self.invoice

    def invoice(self, c: Case) -> tuple[float, Step]:
        r = self._call("receive invoice", "POST", f"{self.urls['budget']}/budget/v1/budgets/{c.budget_id}/invoices",
                       headers=self.fin(c), json={"budget_line_id": c.line_id, "invoice_number": f"SOAK-{c.n}",
                                               "provider_id": "coach-bv", "provider_name": "Coach BV",
                                               "provider_iban": "NL91ABNA0417164300", "amount": "100.00"})
        body = self._expect(r, "receive invoice", 201)
        c.invoice_id = body["id"]
        return 0.0, (self.confirm if body["status"] == "awaiting_client" else self.approve_invoice)

    def confirm(self, c: Case) -> tuple[float, Step]:
        me = self.auth("client", MUNICIPALITY, subject=f"client-{c.n}", client_id=c.client_id)
        r = self._call("confirm invoice", "POST", f"{self.urls['budget']}/budget/v1/invoices/{c.invoice_id}/confirm",
                       headers=me)
        self._expect(r, "confirm invoice", 200)
        return 0.0, self.approve_invoice

    def approve_invoice(self, c: Case) -> tuple[float, Step]:
        r = self._call("approve invoice", "POST", f"{self.urls['budget']}/budget/v1/invoices/{c.invoice_id}/approve",
                       headers=self.fin(c))
        self._expect(r, "approve invoice", 200)
        return 0.0, self.report

    def report(self, c: Case) -> tuple[float, Step] | None:
        r = self._call("progress report", "POST",
                       f"{self.urls['monitoring']}/monitoring/v1/trajectories/{c.plan_id}/progress-reports",
                       headers=self.km(c), json={"on_track": True, "summary": "Gaat goed"})
        if r.status_code == 404:  # the trajectory is made on PlanApproved; not handled yet
            return RETRY_SECONDS, self.report
        self._expect(r, "progress report", 201)
        with self.lock:
            self.finished_cases += 1
        return None

    def remind(self, n: int) -> None:
        """One of the daily reminder scans, sent to its service's worker queue as beat sends it."""
        service, job = REMINDER_JOBS[n % len(REMINDER_JOBS)]
        started = time.monotonic()
        self.celery.send_task(job, queue=service, retry=False)
        self._record(Op("send reminder scan", time.monotonic(), time.monotonic() - started, 200))
        self.reminders_sent += 1

    def _run(self, step: Step, case: Case) -> None:
        try:
            nxt = step(case)
        except Exception as exc:  # noqa: BLE001 - counted; the case ends there
            with self.lock:
                self.failures.append(str(exc))
            return
        if nxt is not None:
            with self.lock:
                self.waiting.append((time.monotonic() + nxt[0], nxt[1], case))

    def _next(self) -> tuple[Step, Case]:
        now = time.monotonic()
        with self.lock:
            for i, (due, step, case) in enumerate(self.waiting):
                if due <= now:
                    del self.waiting[i]
                    return step, case
        return self.register, Case(next(self.cases))

    def run(self, seconds: float, reminder_every: float, stop: threading.Event) -> None:
        started = time.monotonic()
        reminders = 0
        for i in itertools.count():
            at = started + i / self.rate
            if at - started >= seconds or stop.is_set():
                break
            if (delay := at - time.monotonic()) > 0:
                time.sleep(delay)
            if time.monotonic() - started >= reminders * reminder_every:
                self.pool.submit(self.remind, reminders)
                reminders += 1
            step, case = self._next()
            self.pool.submit(self._run, step, case)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.close()


# --- sampling -----------------------------------------------------------------------------------------


@dataclass
class Window:
    t: float  # seconds since the load started, at the window's end
    ops: int
    p50: float
    p95: float
    p99: float
    errors: int
    backlog: int
    oldest: float
    consumed: int  # events handled in this window (rows added to the inboxes)
    rss: dict[str, int] = field(default_factory=dict)  # KiB per process
    loadavg: float = 0.0


_METRIC = re.compile(r'^(prb_outbox_backlog|prb_outbox_oldest_age_seconds)\{service="(\w+)"\} ([0-9.eE+-]+)$', re.M)


def outbox(urls: dict[str, str]) -> tuple[int, float]:
    """Sum of the outbox backlogs and the oldest age, from each API's /metrics."""
    import httpx

    backlog, oldest = 0, 0.0
    for url in urls.values():
        text = httpx.get(f"{url}/metrics", timeout=10).text
        for name, _service, value in _METRIC.findall(text):
            if name == "prb_outbox_backlog":
                backlog += int(float(value))
            else:
                oldest = max(oldest, float(value))
    return backlog, oldest


def consumed(engine: Any) -> int:
    """Events handled so far: rows in the four inboxes."""
    import sqlalchemy as sa

    from shared.bus.tables import bus_tables

    with engine.connect() as conn:
        return sum(conn.execute(sa.select(sa.func.count()).select_from(bus_tables(s).inbox)).scalar_one()
                   for s in SERVICES)


def sample(load: Load, since: float, until: float, started: float, urls: dict[str, str], engine: Any,
           pids: dict[str, int], consumed_before: int) -> Window:
    """The window [since, until): its operations now, and the gauges as they are at its end."""
    with load.lock:
        window = [op for op in load.ops if since <= op.ended < until]
    times = sorted(op.seconds * 1000 for op in window if op.kind != "send reminder scan")
    backlog, oldest = outbox(urls)
    return Window(t=round(until - started), ops=len(window), p50=pct(times, 50), p95=pct(times, 95),
                  p99=pct(times, 99), errors=sum(1 for op in window if op.status >= 500 or op.status == 0),
                  backlog=backlog, oldest=oldest, consumed=consumed(engine) - consumed_before,
                  rss={name: rss_kib(pid) for name, pid in pids.items()}, loadavg=os.getloadavg()[0])


# --- the run ------------------------------------------------------------------------------------------


@dataclass
class SoakResult:
    windows: list[Window]
    verdicts: list[Verdict]
    operations: dict[str, int]
    cases_started: int
    cases_finished: int
    reminders_sent: int
    failures: list[str]

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)


def run_soak(database_url: str, broker_url: str, work_dir: Path, *, seconds: float, rate: float, workers: int = 16,
             reminder_every: float = 10.0, drain_timeout: float = 60.0, log_level: str = "WARNING",
             stop: threading.Event | None = None) -> SoakResult:
    """Start the system on this (empty) database and broker, load it for `seconds`, and judge it."""
    import sqlalchemy as sa

    from tests.support.environment import free_port
    from tests.support.processes import Processes

    stop = stop or threading.Event()
    env = {"DATABASE_URL": database_url, "BROKER_URL": broker_url, "PRB_ENVIRONMENT": "test",
           "PRB_DATA_DIR": str(work_dir / "data"), "PRB_LOG_LEVEL": log_level}
    env_clean = {k: v for k, v in os.environ.items() if k != "PRB_METRICS_PORT"}  # /metrics on each API's port
    procs = Processes(env, work_dir)
    procs.env = {**env_clean, **env}
    procs.run("migrate")
    urls: dict[str, str] = {}
    pids: dict[str, int] = {}
    engine = sa.create_engine(database_url, pool_size=2)
    load: Load | None = None
    try:
        for service in SERVICES:
            port = free_port()
            pids[f"api {service}"] = procs.start(f"api-{service}", "serve", service, "--port", str(port)).pid
            pids[f"worker {service}"] = procs.start(f"worker-{service}", "worker", service, "--concurrency", "2").pid
            urls[service] = f"http://127.0.0.1:{port}"
        pids["relay"] = procs.start("relay", "relay").pid
        pids["beat"] = procs.start("beat", "beat").pid
        for url in urls.values():
            procs.wait_healthy(url, timeout=180)  # ten processes start at once; a busy machine is slow
        load = Load(urls, rate, workers, broker_url)
        windows: list[Window] = []
        handled = consumed(engine)
        driver = threading.Thread(target=load.run, args=(seconds, reminder_every, stop), daemon=True)
        started = time.monotonic()
        driver.start()
        log(f"load running: {rate:g} operations/s for {seconds:.0f} s; a sample every {SAMPLE_SECONDS:.0f} s")
        since = started
        while driver.is_alive() or since < started + seconds:
            until = min(since + SAMPLE_SECONDS, started + seconds)
            stop.wait(max(0.0, until - time.monotonic()))
            if stop.is_set():
                raise KeyboardInterrupt
            for name, proc in procs.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{procs.tail(name)}")
            w = sample(load, since, until, started, urls, engine, pids, handled)
            handled += w.consumed
            windows.append(w)
            log(f"  t={w.t:4.0f} s  ops {w.ops:4d}  p95 {w.p95:6.0f} ms  backlog {w.backlog:3d} "
                f"(oldest {w.oldest:4.1f} s)  consumed {w.consumed}")
            since = until
            if since >= started + seconds:
                break
        driver.join()
        load.close()
        drained_at = time.monotonic()
        backlog_after: int | None = None
        drained_in: float | None = None
        while time.monotonic() - drained_at < drain_timeout:
            backlog_after, _ = outbox(urls)
            if backlog_after == 0:
                drained_in = time.monotonic() - drained_at
                break
            time.sleep(0.5)
        final_rss = {name: rss_kib(pid) for name, pid in pids.items()}
        log(f"after the load: backlog {backlog_after}; RSS now "
            + ", ".join(f"{n} {v / 1024:.0f}" for n, v in final_rss.items()) + " MiB")
        verdicts = [memory_verdict(name, [w.rss[name] for w in windows]) for name in pids]
        verdicts.append(latency_verdict([w.p50 for w in windows], [w.p95 for w in windows]))
        verdicts.append(backlog_verdict([w.oldest for w in windows], backlog_after, drained_in))
        ops_counts: dict[str, int] = {}
        for op in load.ops:
            ops_counts[op.kind] = ops_counts.get(op.kind, 0) + 1
        server_errors = sum(1 for op in load.ops if op.status >= 500 or op.status == 0)
        verdicts.append(errors_verdict(server_errors, len(load.failures), len(load.ops)))
        return SoakResult(windows, verdicts, ops_counts, next(load.cases) - 1, load.finished_cases,
                          load.reminders_sent, load.failures[:10])
    except Exception:
        log(f"process logs:\n{procs.logs()}")
        raise
    finally:
        stop.set()
        if load is not None:
            load.close()
        procs.stop()
        engine.dispose()


# --- printing -----------------------------------------------------------------------------------------


def table(result: SoakResult) -> str:
    """Two Markdown tables: the load per window, and the RSS (MiB) of each process per window."""
    lines = ["| t (s) | ops | p50 ms | p95 ms | p99 ms | 5xx | backlog | oldest s | consumed | load avg |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in result.windows:
        lines.append(f"| {w.t:.0f} | {w.ops} | {w.p50:.0f} | {w.p95:.0f} | {w.p99:.0f} | {w.errors} | {w.backlog} | "
                     f"{w.oldest:.1f} | {w.consumed} | {w.loadavg:.2f} |")
    names = list(result.windows[0].rss) if result.windows else []
    lines += ["", "| t (s) | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for w in result.windows:
        lines.append(f"| {w.t:.0f} | " + " | ".join(f"{w.rss[n] / 1024:.1f}" for n in names) + " |")
    return "\n".join(lines)


def machine_facts(database_url: str) -> str:
    import sqlalchemy as sa

    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))  # type: ignore[union-attr]
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        if m := re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M):
            cpu = m.group(1)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        pg = conn.execute(sa.text("SHOW server_version")).scalar_one().split()[0]
    engine.dispose()
    redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2:3]
    return (f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), {mem / 1024 / 1024:.1f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, PostgreSQL {pg}, "
            f"redis-server {' '.join(redis_v)}; load average at the start {os.getloadavg()[0]:.2f}")


def report(result: SoakResult) -> str:
    out = [table(result), "",
           f"cases started {result.cases_started}, finished {result.cases_finished}; "
           f"reminder scans sent {result.reminders_sent}",
           "operations: " + ", ".join(f"{k} {v}" for k, v in sorted(result.operations.items()))]
    if result.failures:
        out.append("first failures: " + "; ".join(result.failures))
    out.append("")
    out += [f"{'PASS' if v.ok else 'FAIL'}  {v.what}: {v.detail}" for v in result.verdicts]
    out.append(f"\nverdict: {'PASS' if result.ok else 'FAIL'}")
    return "\n".join(out)


def main() -> int:
    import sqlalchemy as sa

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--rate", type=float, default=4.0, help="operations per second (HTTP calls)")
    p.add_argument("--workers", type=int, default=16, help="client threads")
    p.add_argument("--reminder-every", type=float, default=10.0, help="seconds between reminder scans")
    p.add_argument("--drain-timeout", type=float, default=60.0)
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--postgres-url", default=ADMIN_URL, help="admin URL; the scratch database is created beside it")
    p.add_argument("--json", help="also write the windows and verdicts to this file")
    p.add_argument("--keep", action="store_true", help="keep the scratch database and the process logs")
    args = p.parse_args()

    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]), flush=True)
    dbname = f"prb_bench_soak_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    database_url = sa.engine.make_url(args.postgres_url).set(database=dbname).render_as_string(hide_password=False)
    work_dir = Path(tempfile.mkdtemp(prefix="prb-soak-"))
    redis_server = PrivateRedis()
    stop = threading.Event()

    def on_term(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    created = False
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
        created = True
        print("machine: " + machine_facts(database_url), flush=True)
        redis_server.start()
        result = run_soak(database_url, redis_server.url, work_dir, seconds=args.minutes * 60, rate=args.rate,
                          workers=args.workers, reminder_every=args.reminder_every,
                          drain_timeout=args.drain_timeout, log_level=args.log_level, stop=stop)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - report and tear down
        log(f"soak failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        redis_server.stop()
        if created and not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()
        if args.keep:
            log(f"kept database {dbname} and logs in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(report(result), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "windows": [w.__dict__ for w in result.windows], "verdicts": [v.__dict__ for v in result.verdicts],
            "operations": result.operations}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
