#!/usr/bin/env python
"""Event bus benchmark: outbox -> relay -> Redis/Celery -> inbox, with real processes.

    .venv/bin/python bench/event_bus.py [--events 5000] [--rate 0 = half the measured maximum] [--duration 20] [--keep-db]

What it does, in one run (about two minutes on a quiet 2-core machine):

1. creates a scratch PostgreSQL database, runs `prb migrate` on it, flushes a Redis db;
2. measures the limits of the same machine in the same run: `pgbench -N -c 8 -j 2 -T 10` on its
   own scratch database (the database), `redis-benchmark -t lpush` for context, and **plain
   Celery** (bench/plain_celery.py: the same producers call `send_task` for a task that inserts
   one row; no outbox, no inbox, a worker with the same pool and concurrency: what a team would
   build instead, losing events on a broker restart);
3. starts `prb relay` and `prb worker budget|monitoring|notifications` as real processes;
4. throughput: producer processes commit N `ProgressReported` events (monitoring's outbox,
   routed to notifications, whose handler records a message with its in-app delivery and fans
   out to webhooks) as fast as they can, one UnitOfWork per event; events/s is counted from the
   first commit to the last handled event (the last `notifications.inbox.handled_at`);
5. latency: one paced producer commits `--rate` events/s (default: half the throughput just
   measured) for 1 s of warm-up (reported apart) plus `--duration` s; for every event the commit
   time (taken just after commit returns) is compared with the time the consumer handled it
   (`inbox.handled_at`, written inside the consumer's transaction, just before its commit) and
   the time a reader first saw its inbox row (polled every 5 ms, so a few ms late);
   p50/p95/p99/max of both;
6. prints our figures, the limits and the ratios against the targets (throughput >= 1.0 x plain
   Celery and >= 35 % of pgbench TPS / 2; p99 < 100 ms at half the maximum) and tears everything
   down, also on Ctrl-C or error.

During each phase it reads the CPU time of every process from /proc: per component (ms of CPU
per event), and what other processes on the machine used. Before a phase it waits (up to
`--quiet-timeout` s) for the machine to be idle; a phase during which other processes used
more than 20 % of a core is run again (`--retries`) and the quietest attempt is kept.

Not a test: nothing here runs under pytest. Results and analysis: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import (DISTURBED, CpuMeter, ScratchBench, add_common_args, cpu_ms_per_event, fmt_cpu, fmt_ms, log,
                     other_load, pg_conninfo, run_guarded, summary_ms, wait_for_quiet)

REDIS_URL = os.environ.get("PRB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

EVENT_TYPE = "ProgressReported"  # monitoring -> notifications (routing.ROUTES)
PRODUCER = "monitoring"
CONSUMER = "notifications"
TENANT = "0014"


# --- producers (child processes, spawned) -----------------------------------------------------


def _payload() -> dict[str, Any]:
    return {"report_id": str(uuid.uuid4()), "plan_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()),
            "reported_by_role": "case_manager", "on_track": True}


def _emit_one(engine: Any) -> tuple[str, float]:
    from contracts.events import ProgressReportedV1
    from shared.uow import UnitOfWork

    with UnitOfWork(engine, PRODUCER) as uow:
        payload = _payload()
        env = uow.emit(payload=ProgressReportedV1(**payload), tenant=TENANT, subject=payload["plan_id"])
        uow.commit()
        committed = time.time()  # wall clock, comparable with handled_at written by the worker
    return str(env.event_id), committed


def producer_main(db_url: str, count: int, threads: int, rate: float, ready: Any, go: Any, out: Any,
                  live: Any | None, release: Any) -> None:
    """Commit `count` events with `threads` threads; paced at `rate`/s if rate > 0."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop us
    from shared.db import create_db_engine

    engine = create_db_engine(db_url, pool_size=threads)
    # One event before the start, so the first measured ones do not pay for cold code paths
    # (and a paced producer does not fall behind and then catch up in a burst).
    _emit_one(engine)
    ready.set()
    go.wait()
    cpu0 = os.times()
    results: list[tuple[str, float]] = []
    lock = threading.Lock()
    counter = iter(range(count))
    t0 = time.monotonic()

    def work() -> None:
        mine: list[tuple[str, float]] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            if rate > 0:
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            item = _emit_one(engine)
            mine.append(item)
            if live is not None:
                live.put(item)
        with lock:
            results.extend(mine)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if live is not None:
        live.put(None)
    cpu1 = os.times()
    out.put({"events": results, "cpu": cpu1.user + cpu1.system - cpu0.user - cpu0.system})
    # Keep the connections (their PostgreSQL backends) until the parent has read their CPU time.
    release.wait(600)
    engine.dispose()


@dataclass
class ProducerRun:
    events: list[tuple[str, float]] = field(default_factory=list)
    cpu_seconds: float = 0.0
    release: Any = None  # set it to let the producer processes close their connections and exit
    procs: list[Any] = field(default_factory=list)

    @property
    def extra_events(self) -> int:
        """Events committed before the start (one per process, to warm it up); handled as well."""
        return len(self.procs)

    def finish(self) -> None:
        if self.release is not None:
            self.release.set()
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.terminate()


def run_producers(db_url: str, total: int, processes: int, threads: int, rate: float = 0.0,
                  live: Any | None = None, on_go: Any = None, hold: bool = False) -> ProducerRun:
    """Start producer processes, let them go together, collect their events.

    With hold=True the processes stay (connected) until run.finish(), so their PostgreSQL
    backends can still be measured; otherwise they are finished before returning.
    """
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    release = ctx.Event()
    readies, procs = [], []
    share = [total // processes + (1 if i < total % processes else 0) for i in range(processes)]
    for n in share:
        ready = ctx.Event()
        p = ctx.Process(target=producer_main, args=(db_url, n, threads, rate / processes if rate else 0.0,
                                                     ready, go, out, live, release), daemon=True)
        p.start()
        readies.append(ready)
        procs.append(p)
    run = ProducerRun(release=release, procs=procs)
    try:
        for ready, p in zip(readies, procs):
            while not ready.wait(0.5):
                if not p.is_alive():
                    raise RuntimeError("a producer process died while starting")
        if on_go:
            on_go()
        go.set()
        for _ in procs:
            while True:
                try:
                    item = out.get(timeout=1.0)
                    break
                except Exception:  # queue.Empty
                    if not any(p.is_alive() for p in procs) and out.empty():
                        raise RuntimeError("producer processes died") from None
            run.events.extend(item["events"])
            run.cpu_seconds += item["cpu"]
        if not hold:
            run.finish()
        return run
    except BaseException:
        run.finish()
        raise


# --- the benchmark ----------------------------------------------------------------------------


class Bench(ScratchBench):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.redis_url = args.redis_url

    # setup / teardown

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()

    def teardown_extra(self) -> None:
        try:
            self.flush_redis()
        except Exception as exc:  # noqa: BLE001
            log(f"could not flush redis: {exc}")

    # 2. raw limits

    def raw_limits(self) -> None:
        self.pgbench()
        if shutil.which("redis-benchmark"):
            import redis

            r = redis.Redis.from_url(self.redis_url).connection_pool.connection_kwargs
            cmd = ["redis-benchmark", "-h", str(r.get("host", "127.0.0.1")), "-p", str(r.get("port", 6379)),
                   "--dbnum", str(r.get("db", 0)), "-t", "lpush", "-n", "100000", "-q"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            m = re.search(r"LPUSH: ([\d.]+) requests per second", done.stdout.replace("\r", "\n"))
            self.results["redis_lpush_rps"] = float(m.group(1)) if m else None
            log(f"redis-benchmark lpush: {self.results['redis_lpush_rps']} requests/s")
            self.flush_redis()

    # 2b. the broker's limit: plain Celery, no outbox, no inbox (bench/plain_celery.py)

    def plain_celery(self) -> None:
        import sqlalchemy as sa

        import plain_celery

        a = self.args
        dbname = f"{self.dbname}_plain"
        self.create_db(dbname)
        url = pg_conninfo(self.admin_url, dbname)["url"]
        engine = sa.create_engine(url)
        plain_celery.create_table(engine)
        self.flush_redis()
        logfile = open(self.log_dir / "plain-worker.log", "w")  # noqa: SIM115 - closed below
        worker = subprocess.Popen([sys.executable, str(Path(__file__).with_name("plain_celery.py")), "worker",
                                   "--db", url, "--broker", self.redis_url, "--pool", a.pool,
                                   "--concurrency", str(a.concurrency)], stdout=logfile, stderr=subprocess.STDOUT)

        def rows() -> tuple[int, Any]:
            with engine.connect() as conn:
                return tuple(conn.execute(sa.text(f"SELECT count(*), max(handled_at) FROM {plain_celery.TABLE}")).one())

        try:
            ctx = mp.get_context("spawn")
            out, go = ctx.Queue(), ctx.Event()
            share = [a.events // a.producers + (1 if i < a.events % a.producers else 0) for i in range(a.producers)]
            readies = [ctx.Event() for _ in share]
            procs = [ctx.Process(target=plain_celery.producer_main,
                                 args=(self.redis_url, n, a.producer_threads, ready, go, out), daemon=True)
                     for n, ready in zip(share, readies)]
            for proc in procs:
                proc.start()
            for ready in readies:
                if not ready.wait(60):
                    raise RuntimeError("a plain Celery producer did not start")
            warm = len(procs)
            deadline = time.monotonic() + 60
            while rows()[0] < warm:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the plain Celery worker did not start: see {self.log_dir}/plain-worker.log")
                time.sleep(0.1)
            wait_for_quiet(a.quiet_below, a.quiet_timeout, "the plain Celery phase")
            meter = CpuMeter(dbname, {"plain celery worker": worker.pid})
            log(f"plain Celery: {a.events} send_task from {a.producers} processes x {a.producer_threads} threads, "
                f"a worker (--pool {a.pool} --concurrency {a.concurrency}) inserting one row per task")
            meter.start()
            go.set()
            sent: list[tuple[str, float]] = []
            cpu_producers = 0.0
            for _ in procs:
                item = out.get(timeout=600)
                sent.extend(item["events"])
                cpu_producers += item["cpu"]
            last, last_change = -1, time.monotonic()
            while (n := rows()[0]) < a.events + warm:
                if n != last:
                    last, last_change = n, time.monotonic()
                elif time.monotonic() - last_change > a.stall_timeout:
                    raise RuntimeError(f"plain Celery stuck at {n} of {a.events + warm} rows")
                time.sleep(0.05)
            meter.extra["producers"] = cpu_producers
            cpu = meter.stop()
            for proc in procs:
                proc.join(10)
            first_sent = min(t for _, t in sent)
            elapsed = rows()[1].timestamp() - first_sent
            r = self.results
            r["plain_celery_eps"] = a.events / elapsed
            r["plain_celery_seconds"] = elapsed
            r["plain_celery_producer_eps"] = a.events / (max(t for _, t in sent) - first_sent)
            r["plain_celery_cpu_ms_per_event"] = cpu_ms_per_event(cpu, a.events)
            r["plain_celery_other_load"] = other_load(cpu)
            log(f"plain Celery: {a.events} tasks sent at {r['plain_celery_producer_eps']:.0f}/s, all rows in "
                f"{elapsed:.2f} s after the first send => {r['plain_celery_eps']:.0f} tasks/s")
            log("  CPU during the phase (% of one core):\n" + fmt_cpu(cpu, a.events, ceiling=True))
        finally:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
            logfile.close()
            engine.dispose()
            self.drop_db(dbname)
            self.flush_redis()

    # 1 + 3. the system under test

    def start_system(self) -> None:
        from shared.db import create_db_engine
        from tests.support.processes import Processes

        a = self.args
        self.create_db(self.dbname)
        self.flush_redis()
        env = {"DATABASE_URL": self.db["url"], "BROKER_URL": self.redis_url, "PRB_ENVIRONMENT": "test",
               "PRB_DATA_DIR": str(self.log_dir / "data"), "PRB_LOG_LEVEL": a.log_level}
        self.procs = Processes(env, self.log_dir)
        self.procs.run("migrate")
        log(f"migrated {self.dbname}")
        self.engine = create_db_engine(self.db["url"], pool_size=4)
        self.pids = {"relay": self.procs.start("relay", "relay").pid}
        for svc in ("budget", "monitoring", "notifications"):
            conc = str(a.concurrency if svc == CONSUMER else 2)
            pool = a.pool if svc == CONSUMER else "threads"
            self.pids[f"worker {svc}"] = self.procs.start(f"worker-{svc}", "worker", svc, "--pool", pool,
                                                          "--concurrency", conc).pid
        log(f"started relay and workers (notifications: --pool {a.pool} --concurrency {a.concurrency}); "
            f"logs in {self.log_dir}")

    # counting

    def inbox_state(self) -> tuple[int, datetime | None]:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            row = conn.execute(sa.text(f"SELECT count(*), max(handled_at) FROM {CONSUMER}.inbox "
                                       "WHERE event_type = :t"), {"t": EVENT_TYPE}).one()
        return row[0], row[1]

    def wait_handled(self, target: int, stall_timeout: float, what: str) -> None:
        """Wait until the inbox holds `target` rows; give up when nothing moves for `stall_timeout` s."""
        last, last_change = -1, time.monotonic()
        while True:
            n, _ = self.inbox_state()
            if n >= target:
                return
            self.check_alive()
            if n != last:
                last, last_change = n, time.monotonic()
            elif time.monotonic() - last_change > stall_timeout:
                raise RuntimeError(f"{what}: stuck at {n} of {target} events handled for {stall_timeout:.0f} s\n"
                                   f"{self.procs.logs()}")
            time.sleep(0.1)

    def fetch_times(self, ids: list[str]) -> dict[str, tuple[float, float | None, float | None]]:
        """event_id -> (handled_at, outbox created_at, outbox published_at) as epoch seconds."""
        import sqlalchemy as sa

        res: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 5000):
                chunk = ids[i:i + 5000]
                rows = conn.execute(sa.text(
                    f"SELECT i.event_id, i.handled_at, o.created_at, o.published_at FROM {CONSUMER}.inbox i "
                    f"LEFT JOIN {PRODUCER}.outbox o ON o.event_id = i.event_id WHERE i.event_id = ANY(:ids)"),
                    {"ids": chunk}).all()
                for r in rows:
                    res[r[0]] = (r[1].timestamp(), r[2].timestamp() if r[2] else None,
                                 r[3].timestamp() if r[3] else None)
        return res

    def integrity(self) -> dict[str, int]:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            q = lambda sql: conn.execute(sa.text(sql)).scalar_one()  # noqa: E731
            return {
                "outbox": q(f"SELECT count(*) FROM {PRODUCER}.outbox"),
                "unpublished": q(f"SELECT count(*) FROM {PRODUCER}.outbox WHERE published_at IS NULL"),
                "inbox": q(f"SELECT count(*) FROM {CONSUMER}.inbox"),
                "messages": q(f"SELECT count(*) FROM {CONSUMER}.message WHERE template = 'progress_reported'"),
                "dead_letters": sum(q(f"SELECT count(*) FROM {s}.dead_letter")
                                    for s in ("intake", "budget", "monitoring", "notifications")),
            }

    # warm-up

    def warm_up(self) -> None:
        n = self.args.warmup
        before, _ = self.inbox_state()
        log(f"warm-up: {n} events end to end")
        run = run_producers(self.db["url"], n, 1, 2, rate=0.0)
        self.wait_handled(before + n + run.extra_events, 60, "warm-up")
        time.sleep(1.0)

    # 4. throughput

    def throughput(self) -> None:
        a = self.args
        before, _ = self.inbox_state()
        wait_for_quiet(a.quiet_below, a.quiet_timeout, "the throughput phase")
        meter = CpuMeter(self.dbname, self.pids)
        log(f"throughput: {a.events} events from {a.producers} producer processes x {a.producer_threads} threads")
        run = run_producers(self.db["url"], a.events, a.producers, a.producer_threads, on_go=meter.start, hold=True)
        try:
            self.wait_handled(before + a.events + run.extra_events, a.stall_timeout, "throughput")
            meter.extra["producers"] = run.cpu_seconds
            cpu = meter.stop()
        finally:
            run.finish()
        ids = [e for e, _ in run.events]
        times = self.fetch_times(ids)
        missing = len(ids) - len(times)
        commits = sorted(t for _, t in run.events)
        first_commit, last_commit = commits[0], commits[-1]
        handled = sorted(t[0] for t in times.values())
        last_handled = handled[-1]
        published = sorted(t[2] for t in times.values() if t[2])
        elapsed = last_handled - first_commit
        rate = len(ids) / elapsed
        r = self.results
        r["throughput_events"] = len(ids)
        r["throughput_missing"] = missing
        r["throughput_eps"] = rate
        r["throughput_seconds"] = elapsed
        r["producer_eps"] = len(ids) / (last_commit - first_commit) if last_commit > first_commit else float("inf")
        r["relay_eps"] = len(published) / (published[-1] - first_commit) if published else None
        r["consumer_eps"] = len(handled) / (handled[-1] - handled[0]) if len(handled) > 1 else None
        r["drain_after_last_commit_s"] = last_handled - last_commit
        r["throughput_cpu"] = cpu
        r["throughput_cpu_ms_per_event"] = cpu_ms_per_event(cpu, len(ids))
        r["throughput_other_load"] = other_load(cpu)
        lat = [times[e][0] - t for e, t in run.events if e in times]
        r["throughput_latency"] = summary_ms(lat)
        log(f"throughput: {len(ids)} events committed in {last_commit - first_commit:.2f} s "
            f"({r['producer_eps']:.0f}/s), all handled {elapsed:.2f} s after the first commit "
            f"=> {rate:.0f} events/s")
        log(f"  relay published the last event {published[-1] - first_commit:.2f} s after the first commit "
            f"({r['relay_eps']:.0f}/s); the consumer handled {r['consumer_eps']:.0f}/s from its first to its last "
            f"event, the last {r['drain_after_last_commit_s']:.2f} s after the last commit")
        log("  CPU during the phase (% of one core):\n" + fmt_cpu(cpu, len(ids), ceiling=True))

    # 5. latency

    def latency(self) -> None:
        a = self.args
        total = int(a.rate * (a.duration + a.latency_warmup))
        before, _ = self.inbox_state()
        ctx = mp.get_context("spawn")
        live = ctx.Queue()
        seen: dict[str, float] = {}
        stop = threading.Event()

        def observe() -> None:
            import sqlalchemy as sa

            pending: dict[str, float] = {}
            finished = False
            with self.engine.connect() as conn:
                while not stop.is_set():
                    while True:
                        try:
                            item = live.get_nowait()
                        except Exception:  # queue.Empty
                            break
                        if item is None:
                            finished = True
                        else:
                            pending[item[0]] = item[1]
                    if pending:
                        rows = conn.execute(sa.text(f"SELECT event_id FROM {CONSUMER}.inbox "
                                                    "WHERE event_id = ANY(:ids)"), {"ids": list(pending)}).all()
                        conn.commit()
                        now = time.time()
                        for (eid,) in rows:
                            pending.pop(eid, None)
                            seen[eid] = now
                    elif finished:
                        return
                    time.sleep(0.005)

        wait_for_quiet(a.quiet_below, a.quiet_timeout, "the latency phase")
        observer = threading.Thread(target=observe, name="observer", daemon=True)
        observer.start()
        meter = CpuMeter(self.dbname, self.pids)
        log(f"latency: {a.rate:.0f} events/s for {a.latency_warmup:g} + {a.duration:g} s ({total} events), "
            "one paced producer; the first second(s) are the warm-up, reported apart")
        run = None
        try:
            run = run_producers(self.db["url"], total, 1, 2, rate=a.rate, live=live, on_go=meter.start, hold=True)
            self.wait_handled(before + total + run.extra_events, a.stall_timeout, "latency")
            observer.join(10)
            meter.extra["producer"] = run.cpu_seconds
            cpu = meter.stop()
        finally:
            stop.set()
            if run is not None:
                run.finish()
        ids = [e for e, _ in run.events]
        times = self.fetch_times(ids)
        commits = sorted(t for _, t in run.events)
        achieved = len(commits) / (commits[-1] - commits[0]) if len(commits) > 1 else 0.0
        # Steady state: from `latency_warmup` s after the first commit. The first events after an
        # idle spell wait for CPU caches, connection pools and idle vCPUs; they are reported apart.
        cutoff = commits[0] + a.latency_warmup
        warm = [(e, t) for e, t in run.events if t < cutoff]
        steady = [(e, t) for e, t in run.events if t >= cutoff]
        handled = [times[e][0] - t for e, t in steady if e in times]
        visible = [seen[e] - t for e, t in steady if e in seen]
        relay = [times[e][2] - t for e, t in steady if e in times and times[e][2]]
        delivery = [times[e][0] - times[e][2] for e, _ in steady if e in times and times[e][2]]
        warmup_handled = [times[e][0] - t for e, t in warm if e in times]
        if a.csv:
            with open(a.csv, "w") as f:
                f.write("event_id,commit,published,handled,visible\n")
                for e, t in sorted(run.events, key=lambda et: et[1]):
                    h, _, pub = times.get(e, (None, None, None))
                    f.write(f"{e},{t:.6f},{pub or ''},{h or ''},{seen.get(e, '')}\n")
        r = self.results
        r["latency_rate_achieved"] = achieved
        r["latency_warmup_handled"] = summary_ms(warmup_handled)
        r["latency_handled"] = summary_ms(handled)
        r["latency_visible"] = summary_ms(visible)
        r["latency_commit_to_published"] = summary_ms(relay)
        r["latency_published_to_handled"] = summary_ms(delivery)
        r["latency_cpu"] = cpu
        r["latency_cpu_ms_per_event"] = cpu_ms_per_event(cpu, len(ids))
        r["latency_other_load"] = other_load(cpu)
        log(f"latency: achieved {achieved:.1f} events/s")
        if warmup_handled:
            log(f"  warm-up ({a.latency_warmup:g} s, not in the figures below): {fmt_ms(r['latency_warmup_handled'])}")
        log(f"  commit -> handled (inbox.handled_at): {fmt_ms(r['latency_handled'])}")
        log(f"  commit -> visible (reader sees inbox row): {fmt_ms(r['latency_visible'])}")
        log(f"  commit -> published by relay:          {fmt_ms(r['latency_commit_to_published'])}")
        log(f"  published -> handled (Redis + worker): {fmt_ms(r['latency_published_to_handled'])}")
        log("  CPU during the phase (% of one core):\n" + fmt_cpu(cpu, len(ids)))

    def run_phase(self, phase: str, run: Any) -> None:
        """Run a phase; if other processes disturbed it, run it again and keep the quietest attempt."""
        attempts: list[dict[str, Any]] = []
        for attempt in range(1, self.args.retries + 2):
            run()
            time.sleep(1.0)
            mine = {k: v for k, v in self.results.items() if k.startswith(phase) or k.startswith("producer_")
                    or k.startswith("relay_") or k.startswith("consumer_") or k.startswith("drain_")}
            mine[f"{phase}_attempt"] = attempt
            attempts.append(mine)
            if mine[f"{phase}_other_load"] <= DISTURBED:
                break
            if attempt <= self.args.retries:
                log(f"  {phase} phase disturbed by other processes ({mine[f'{phase}_other_load']:.0f} % of a core); "
                    f"running it again ({attempt}/{self.args.retries})")
        best = min(attempts, key=lambda m: m[f"{phase}_other_load"])
        self.results.update(best)
        self.results[f"{phase}_attempts"] = [round(m[f"{phase}_other_load"], 1) for m in attempts]

    # 6. summary

    def report(self) -> bool:
        r = self.results
        ok = True
        print()
        print("=" * 78)
        print("Eigen Regie event bus benchmark")
        print(f"  machine: {os.cpu_count()} cores; PostgreSQL {self.server_version()}; Redis {self.redis_version()}")
        print(f"  command: {' '.join([Path(sys.executable).name, *sys.argv])}")
        if "pgbench_tps" in r:
            print(f"  pgbench -c 8 -j 2 -T {self.args.pgbench_seconds} -N : {r['pgbench_tps']:8.0f} TPS "
                  f"(avg latency {r['pgbench_latency_ms']} ms)")
        if r.get("redis_lpush_rps"):
            print(f"  redis-benchmark lpush       : {r['redis_lpush_rps']:8.0f} requests/s")
        if "throughput_eps" in r:
            print(f"  throughput, commit->handled : {r['throughput_eps']:8.0f} events/s "
                  f"({r['throughput_events']} events in {r['throughput_seconds']:.2f} s; producers alone "
                  f"{r['producer_eps']:.0f}/s)")
        if "latency_handled" in r:
            print(f"  latency at {r['latency_rate_achieved']:.0f}/s, commit->handled: {fmt_ms(r['latency_handled'])}")
            print(f"  latency at {r['latency_rate_achieved']:.0f}/s, commit->visible: {fmt_ms(r['latency_visible'])}")
            if r.get("latency_warmup_handled", {}).get("n"):
                print(f"  (the first {self.args.latency_warmup:g} s after idle, not above: "
                      f"{fmt_ms(r['latency_warmup_handled'])})")
        if "plain_celery_eps" in r:
            print(f"  plain Celery send_task -> one row (no outbox, no inbox): {r['plain_celery_eps']:8.0f} tasks/s")
        print("  targets (ratios from this run):")
        if "plain_celery_eps" in r and "throughput_eps" in r:
            ratio = r["throughput_eps"] / r["plain_celery_eps"]
            r["ratio_to_plain_celery"] = ratio
            met = ratio >= 1.0
            ok &= met
            print(f"    throughput >= 1.0 x plain Celery : {ratio:.2f} x -> {'MET' if met else 'NOT MET'}")
        if "pgbench_tps" in r and "throughput_eps" in r:
            share = r["throughput_eps"] / (r["pgbench_tps"] / 2) * 100
            r["share_of_half_pgbench"] = share
            met = share >= 35.0
            ok &= met
            print(f"    throughput >= 35 % of pgbench TPS / 2 ({r['pgbench_tps'] / 2:.0f}) : {share:.0f} % "
                  f"-> {'MET' if met else 'NOT MET'}")
        if "latency_handled" in r:
            p99 = max(r["latency_handled"]["p99"], r["latency_visible"]["p99"])
            half = r.get("throughput_eps", 0) / 2
            met = p99 < 100.0
            ok &= met
            print(f"    p99 < 100 ms at {self.args.rate:.0f} events/s"
                  f"{f' (half the measured {half * 2:.0f}/s)' if half and abs(self.args.rate - half) < 1 else ''} : "
                  f"{p99:.1f} ms (worst of the two measures) -> {'MET' if met else 'NOT MET'}")
        for phase in ("plain_celery", "throughput", "latency"):
            if f"{phase}_other_load" in r:
                other = r[f"{phase}_other_load"]
                flag = "  <- disturbed, run again on a quiet machine" if other > DISTURBED else ""
                print(f"  other load on the machine during the {phase} phase: {other:.0f} % of one core "
                      f"(attempt {r[f'{phase}_attempt']}){flag}")
        integ = self.integrity()
        r["integrity"] = integ
        clean = integ["unpublished"] == 0 and integ["dead_letters"] == 0 and integ["inbox"] == integ["outbox"] \
            and integ["messages"] == integ["inbox"] and r.get("throughput_missing", 0) == 0
        ok &= clean
        print(f"  integrity: {integ} -> {'ok' if clean else 'PROBLEM'}")
        print("=" * 78)
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(r, indent=2, default=str))
            print(f"results written to {self.args.json}")
        return ok

    def redis_version(self) -> str:
        import redis

        return str(redis.Redis.from_url(self.redis_url).info("server").get("redis_version"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--events", type=int, default=5000, help="events for the throughput phase")
    p.add_argument("--rate", type=float, default=0.0,
                   help="events/s for the latency phase; 0 = half the throughput measured in this run (200 without)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of the latency phase")
    p.add_argument("--latency-warmup", type=float, default=1.0,
                   help="seconds at --rate before the latency window; reported apart")
    p.add_argument("--producers", type=int, default=2, help="producer processes (throughput phase)")
    p.add_argument("--producer-threads", type=int, default=4, help="threads per producer process")
    p.add_argument("--concurrency", type=int, default=4, help="notifications worker threads")
    p.add_argument("--pool", default="threads", choices=("threads", "prefork", "solo"),
                   help="notifications worker pool")
    p.add_argument("--warmup", type=int, default=200, help="events sent end to end before measuring")
    p.add_argument("--skip-raw", action="store_true", help="skip pgbench and redis-benchmark")
    p.add_argument("--skip-plain", action="store_true", help="skip the plain Celery limit (bench/plain_celery.py)")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--stall-timeout", type=float, default=30.0,
                   help="give up when no event is handled for this many seconds")
    p.add_argument("--redis-url", default=REDIS_URL, help="a Redis db the benchmark may flush")
    p.add_argument("--csv", help="write per-event times of the latency phase to this file")
    add_common_args(p, log_level="INFO")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)

    def body() -> bool:
        if not args.skip_raw:
            bench.raw_limits()
        if not args.skip_plain:
            bench.run_phase("plain_celery", bench.plain_celery)
        bench.start_system()
        bench.warm_up()
        if not args.skip_throughput:
            bench.run_phase("throughput", bench.throughput)
        if not args.skip_latency:
            if not args.rate:
                # Half the measured maximum: the load a deployment should plan for, with room for bursts.
                args.rate = round(bench.results["throughput_eps"] / 2) if "throughput_eps" in bench.results else 200.0
            bench.run_phase("latency", bench.latency)
        return bench.report()

    return run_guarded(bench, body)


if __name__ == "__main__":
    sys.exit(main())
