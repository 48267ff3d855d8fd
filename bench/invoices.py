#!/usr/bin/env python
"""Invoice benchmark: invoices accepted per second through the partner API, next to the limits of the
database (pgbench) and of the framework (a minimal FastAPI route) in the same run.

    .venv/bin/python bench/invoices.py [--single 3000] [--batches 4] [--json out.json]

On PostgreSQL on this machine, in one run (about two minutes on a quiet 2-core machine):

1. the raw limit: `pgbench -c 8 -j 2 -T 10 -N` on its own scratch database (as bench/event_bus.py);
2. a scratch database migrated with `prb migrate`, and `prb serve budget` as real processes (one per
   core by default). No broker: nothing here needs Redis; the outbox rows the invoices write stay
   unpublished, as they would while the relay is down;
3. budgets opened by the budget service's own `PlanApproved` handler (inside `runtime.uow("budget")`,
   as the worker would run it), with lines large enough that every invoice fits;
4. a short warm-up (not measured), then
   a. single invoices: `POST /budget/v1/invoices` from `--clients` concurrent HTTP clients (threads with
      httpx), every check on (line, dates, remaining budget, provider, IBAN, duplicates, audit record,
      outbox row); invoices/s and per-request latency;
   b. bulk: `POST /budget/v1/invoices/bulk` with batches of 1,000, one batch in flight per API process,
      every batch spread over all budgets (`bulk`) and each batch on its own budgets (`bulk_own`);
   every invoice must be accepted: rejections are counted, reported, and fail the run;
5. the framework's limit: bench/minimal_app.py, as many processes as `prb serve budget` and served by
   uvicorn the same way, whose routes take the same JSON and insert one row per invoice into a scratch
   table with the same driver and pool settings; driven by the same client code at the same
   concurrency: one row per request (`minimal_single`) and a batch per request (`minimal_bulk`).

During each phase the CPU time of every process is read from /proc (API processes, PostgreSQL, this
process, others). Before a phase the script waits (up to `--quiet-timeout` s) for the machine to go
idle, and a phase in which other processes used more than 20 % of a core is run again (`--retries`);
the quietest attempt is kept.

Targets (ratios from the same run): single invoices at least 50 % of the minimal route's rate; bulk
invoices at least 25 % of pgbench TPS. The payment run is measured by bench/payment_run.py.
Exit status: 0 if every target is met, 2 if one is missed, 1 on an error (or a rejected invoice),
130 when interrupted. Not a test: pytest does not collect bench/. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from _common import (DISTURBED, REPO, CpuMeter, ScratchBench, add_common_args, fmt_cpu, fmt_ms, log, other_load,
                     run_guarded, summary_ms, wait_for_quiet)

MUNICIPALITY = "0014"  # Groningen: provider invoices wait for the client ("awaiting_client"), all checks on
PROVIDER_NAME = "Bench Opleidingen BV"
PROVIDER_IBAN = "NL91ABNA0417164300"
ACCEPTED = ("received", "awaiting_client")  # what a 201 for an accepted provider invoice says
TARGET_SINGLE_OF_MINIMAL = 50.0  # % of the minimal route's rate, same run
TARGET_BULK_OF_PGBENCH = 25.0  # % of pgbench TPS, same run
API = "/budget/v1"  # where `prb serve budget` answers; the minimal app answers at the root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_threads(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- the benchmark ----------------------------------------------------------------------------


class InvoiceBench(ScratchBench):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.ports: list[int] = []
        self.minimal_ports: list[int] = []
        self.minimal_pids: dict[str, int] = {}
        self.pids: dict[str, int] = {}
        self.rejections: collections.Counter[str] = collections.Counter()
        self.rejection_examples: list[str] = []

    # set-up

    def start_system(self) -> None:
        from shared.db import create_db_engine
        from tests.support.processes import Processes

        self.create_db(self.dbname)
        env = {"DATABASE_URL": self.db["url"], "PRB_DATABASE_URL": self.db["url"], "PRB_ENVIRONMENT": "test",
               "PRB_DATA_DIR": str(self.log_dir / "data"), "PRB_LOG_LEVEL": self.args.log_level,
               # One log-in sends everything: the limiter stays on (its cost counts), its limit out of the way.
               "PRB_RATE_LIMIT": "10000000/minute"}
        self.procs = Processes(env, self.log_dir)
        for name in ("BROKER_URL", "PRB_BROKER_URL"):  # PostgreSQL only; `prb serve` needs no broker
            self.procs.env.pop(name, None)
        self.procs.run("migrate")
        self.engine = create_db_engine(self.db["url"], pool_size=4)
        self.ports = [_free_port() for _ in range(self.args.api_processes)]
        for port in self.ports:
            self.pids[f"api :{port}"] = self.procs.start(f"api-{port}", "serve", "budget", "--port", str(port)).pid
        for port in self.ports:
            self.procs.wait_healthy(f"http://127.0.0.1:{port}")
        log(f"migrated {self.dbname}; {len(self.ports)} `prb serve budget` process(es) on ports {self.ports}; "
            f"logs in {self.log_dir}")

    def start_minimal(self) -> None:
        """bench/minimal_app.py: as many processes as the API has, on the same database (its own table)."""
        import sqlalchemy as sa

        from minimal_app import CREATE_TABLE

        with self.engine.begin() as conn:
            conn.execute(sa.text(CREATE_TABLE))
        self.minimal_ports = [_free_port() for _ in range(len(self.ports))]
        for port in self.minimal_ports:
            out = open(self.log_dir / f"minimal-{port}.log", "wb")  # noqa: SIM115 - closed with the process
            proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "minimal_app.py"), "--port", str(port)],
                                    cwd=REPO, env=self.procs.env, stdout=out, stderr=subprocess.STDOUT)
            self.procs.procs.append((f"minimal-{port}", proc))
            self.minimal_pids[f"minimal :{port}"] = proc.pid
        for port in self.minimal_ports:
            self.procs.wait_healthy(f"http://127.0.0.1:{port}")
        log(f"{len(self.minimal_ports)} bench/minimal_app.py process(es) on ports {self.minimal_ports}")

    def runtime(self) -> Any:
        from shared.config import Settings
        from eigenregie.bootstrap import build_runtime

        return build_runtime(Settings(database_url=self.db["url"], broker_url=None, environment="test"),
                       engine_override=self.engine)

    def open_budgets(self, count: int, granted_cents: int) -> list[str]:
        """Budget lines opened by the budget service's own handler for PlanApproved, one UnitOfWork each."""
        import sqlalchemy as sa

        from services.budget.handlers import open_budget_on_plan_approved
        from services.budget.models import BudgetLine
        from tests.support.events import event_of, payload_of

        runtime = self.runtime()
        start, end = date.today() - timedelta(days=30), date.today() + timedelta(days=300)
        for _ in range(count):
            plan_id = str(uuid.uuid4())
            event = event_of("PlanApproved", tenant=MUNICIPALITY, subject=plan_id, producer="intake",
                              correlation_id="bench", payload={
                                  "plan_id": plan_id, "client_id": str(uuid.uuid4()), "plan_version": 3,
                                  "scheme": "prb", "granted_cents": granted_cents, "execution_deadline": end.isoformat(),
                                  "lines": [{"plan_line_id": str(uuid.uuid4()), "category": "training_skills",
                                             "granted_cents": granted_cents, "provider_name": PROVIDER_NAME,
                                             "starts_on": start.isoformat(), "ends_on": end.isoformat()}]})
            with runtime.uow("budget") as uow:
                open_budget_on_plan_approved(uow, payload_of("PlanApproved", event.payload), event)
                uow.commit()
        with self.engine.connect() as conn:
            line_ids = list(conn.execute(sa.select(BudgetLine.id).where(BudgetLine.available_cents == granted_cents))
                            .scalars())
        if len(line_ids) != count:
            raise RuntimeError(f"opened {len(line_ids)} budget lines, expected {count}")
        log(f"opened {count} budgets of EUR {granted_cents / 100:,.2f} (one line each) through the PlanApproved handler")
        return line_ids

    def headers(self) -> dict[str, str]:
        from shared.auth import Principal, Role, issue_token
        from shared.config import Settings

        principal = Principal(subject="bench-provider", role=Role.PROVIDER, municipality=MUNICIPALITY,
                              provider_id="bench-provider")
        return {"Authorization": f"Bearer {issue_token(principal, Settings(environment='test'))}"}

    @staticmethod
    def invoice(line_id: str, number: str, i: int) -> dict[str, Any]:
        day = date.today().isoformat()
        return {"budget_line_id": line_id, "invoice_number": number, "issue_date": day, "provider_name": PROVIDER_NAME,
                "provider_iban": PROVIDER_IBAN, "amount_excl_vat": f"{100 + i % 400}.{i % 100:02d}", "vat": "0.00",
                "service_from": day, "service_to": day}

    def _rejected(self, code: str, text: str) -> None:
        self.rejections[code] += 1
        if len(self.rejection_examples) < 5:
            self.rejection_examples.append(text[:300])

    # the two intake phases

    def _where(self, minimal: bool) -> tuple[list[int], str]:
        return (self.minimal_ports, "") if minimal else (self.ports, API)

    def single(self, line_ids: list[str], total: int, clients: int, prefix: str, minimal: bool = False,
               ) -> dict[str, Any]:
        import httpx

        ports, root = self._where(minimal)

        headers, counter, lock = self.headers(), iter(range(total)), threading.Lock()
        latencies: list[float] = []
        accepted = [0]

        def client(n: int) -> None:
            mine, ok = [], 0
            base = f"http://127.0.0.1:{ports[n % len(ports)]}"
            with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
                while True:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        break
                    body = self.invoice(line_ids[i % len(line_ids)], f"{prefix}-{i}", i)
                    t = time.perf_counter()
                    r = http.post(f"{root}/invoices", json=body)
                    mine.append(time.perf_counter() - t)
                    try:
                        answer = r.json()
                    except ValueError:
                        answer = {}
                    if r.status_code == 201 and answer.get("status") in ACCEPTED:
                        ok += 1
                    else:
                        with lock:
                            self._rejected(f"HTTP {r.status_code} {answer.get('status') or answer.get('code', '?')}",
                                           r.text)
            with lock:
                latencies.extend(mine)
                accepted[0] += ok

        started = time.perf_counter()
        _run_threads([threading.Thread(target=client, args=(n,)) for n in range(clients)])
        seconds = time.perf_counter() - started
        return {"invoices": total, "accepted": accepted[0], "rejected": total - accepted[0], "seconds": seconds,
                "per_second": accepted[0] / seconds, "clients": clients, "api_processes": len(ports),
                "latency_ms": summary_ms(latencies)}

    def bulk(self, line_ids: list[str], batches: int, size: int, prefix: str, own_budgets: bool = False,
             minimal: bool = False) -> dict[str, Any]:
        """`own_budgets`: each batch invoices its own share of the budgets (a provider's own clients);
        otherwise every batch spreads over all of them, and batches in flight wait for each other's
        budget locks (intake holds them until the batch commits)."""
        import httpx

        headers, lock = self.headers(), threading.Lock()
        ports, root = self._where(minimal)
        accepted, batch_seconds = [0], []

        def send(b: int) -> None:
            base = f"http://127.0.0.1:{ports[b % len(ports)]}"
            if own_budgets:
                prefix_b = f"OWN{prefix}"
                share = max(1, len(line_ids) // max(batches, 1))
                mine = line_ids[(b % batches) * share:(b % batches + 1) * share] or line_ids
                body = [self.invoice(mine[i % len(mine)], f"{prefix_b}-{b}-{i}", i) for i in range(size)]
            else:
                body = [self.invoice(line_ids[(b * size + i) % len(line_ids)], f"{prefix}-{b}-{i}", i)
                        for i in range(size)]
            with httpx.Client(base_url=base, timeout=600, headers=headers) as http:
                t = time.perf_counter()
                r = http.post(f"{root}/invoices/bulk", json=body)
                took = time.perf_counter() - t
            with lock:
                batch_seconds.append(took)
                if r.status_code != 200:
                    for _ in range(size):
                        self._rejected(f"bulk HTTP {r.status_code}", r.text)
                    return
                for item in r.json()["results"]:
                    if item["status"] == "accepted":
                        accepted[0] += 1
                    else:
                        self._rejected(f"bulk {item.get('code')}", json.dumps(item))

        started = time.perf_counter()
        for first in range(0, batches, len(ports)):  # one batch in flight per API process
            _run_threads([threading.Thread(target=send, args=(b,))
                          for b in range(first, min(first + len(ports), batches))])
        seconds = time.perf_counter() - started
        return {"invoices": batches * size, "accepted": accepted[0], "rejected": batches * size - accepted[0],
                "seconds": seconds, "per_second": accepted[0] / seconds, "batch_size": size,
                "batch_seconds": [round(s, 2) for s in batch_seconds]}

    def warm_up(self, line_ids: list[str]) -> None:
        n = self.args.warmup
        if n <= 0:
            return
        log(f"warm-up: {n} single invoices and {len(self.ports)} bulk batch(es) of {min(n, 100)} (not measured)")
        for minimal in (False, True) if self.minimal_ports else (False,):
            self.single(line_ids, n, len(self.ports) * 2, "W", minimal=minimal)
            self.bulk(line_ids, len(self.ports), min(n, 100), "WB", minimal=minimal)

    def phase(self, name: str, run: Any, minimal: bool = False) -> None:
        """Run a measured phase with the CPU meter; repeat it if other processes disturbed it; keep the quietest."""
        a, attempts = self.args, []
        for attempt in range(1, a.retries + 2):
            wait_for_quiet(a.quiet_below, a.quiet_timeout, f"the {name} phase")
            meter = CpuMeter(self.dbname, self.minimal_pids if minimal else self.pids, redis=False)
            meter.start()
            res = run(f"{name[0].upper()}{attempt}")
            cpu = meter.stop()
            res.update(attempt=attempt, other_load=other_load(cpu), cpu=cpu)
            res["cpu_ms_per_invoice"] = {k: round(v / 100 * cpu["_wall"] / max(1, res["accepted"]) * 1000, 3)
                                         for k, v in cpu.items() if not k.startswith("_")}
            attempts.append(res)
            log(f"{name}: {res['accepted']} of {res['invoices']} accepted in {res['seconds']:.2f} s "
                f"=> {res['per_second']:.0f} invoices/s")
            if "latency_ms" in res:
                log(f"  per request: {fmt_ms(res['latency_ms'])}")
            log("  CPU during the phase (% of one core):\n" + fmt_cpu(cpu, max(1, res["accepted"]), ceiling=True,
                                                                    unit="invoice"))
            if res["rejected"]:
                raise RuntimeError(f"{res['rejected']} of {res['invoices']} {name} invoices were not accepted "
                                   f"({dict(self.rejections)}), e.g. {self.rejection_examples[0]}; "
                                   "a benchmark of rejections measures the wrong thing")
            if res["other_load"] <= DISTURBED:
                break
            if attempt <= a.retries:
                log(f"  {name} phase disturbed by other processes ({res['other_load']:.0f} % of a core); "
                    f"running it again ({attempt}/{a.retries})")
        best = min(attempts, key=lambda r: r["other_load"])
        best["other_load_attempts"] = [round(r["other_load"], 1) for r in attempts]
        self.results[name] = best

    # summary

    def report(self) -> bool:
        r, a = self.results, self.args
        tps = r.get("pgbench_tps")
        ok = True
        rows: list[tuple[str, str, str, str]] = []
        if tps:
            rows.append((f"pgbench -c 8 -j 2 -T {a.pgbench_seconds} -N", f"{tps:,.0f} TPS", "(the database's limit)", ""))
        for key, label in (("minimal_single", f"minimal route, one row per request, {a.clients} clients"),
                           ("minimal_bulk", f"minimal route, {a.batch_size} rows per request")):
            if key in r:
                rows.append((label, f"{r[key]['per_second']:,.0f} invoices/s", "(the framework's limit)", ""))
        minimal = r.get("minimal_single", {}).get("per_second")
        for key, label in (("single", f"single, POST {API}/invoices, {a.clients} clients"),
                           ("bulk", f"bulk, POST {API}/invoices/bulk, {a.batch_size}/batch, batches share budgets"),
                           ("bulk_own", f"bulk, {a.batch_size}/batch, each batch its own budgets")):
            if key not in r:
                continue
            rate = r[key]["per_second"]
            ratios = []
            if tps:
                ratios.append(f"{100 * rate / tps:.1f} % of pgbench")
            if minimal and key == "single":
                ratios.append(f"{100 * rate / minimal:.1f} % of the minimal route")
            if key == "bulk_own" and "minimal_bulk" in r:
                ratios.append(f"{100 * rate / r['minimal_bulk']['per_second']:.1f} % of the minimal bulk route")
            value = f"{rate:,.0f} invoices/s" + (" = " + ", ".join(ratios) if ratios else "")
            if key == "single":
                limit, share, need = minimal, TARGET_SINGLE_OF_MINIMAL, "the minimal route"
            else:
                limit, share, need = tps, TARGET_BULK_OF_PGBENCH, "pgbench"
            if limit:
                met = 100 * rate / limit >= share
                ok &= met
                r[key]["target"] = {"share": share, "of": need, "required": limit * share / 100, "met": met}
                rows.append((label, value, f">= {share:.0f} % of {need} ({limit * share / 100:,.0f}/s)",
                             "met" if met else "NOT MET"))
            else:
                ok = False
                rows.append((label, value, f">= {share:.0f} % of {need}", "? (no limit measured in this run)"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)] if rows else [0] * 4
        print()
        print("=" * 100)
        print("Eigen Regie invoice benchmark (the payment run: bench/payment_run.py)")
        print(f"  machine: {os.cpu_count()} cores, PostgreSQL {self.server_version()}, {len(self.ports)} API process(es)")
        print(f"  command: {' '.join([Path(sys.executable).name, *sys.argv])}")
        for row in rows:
            print("  " + "  ".join(col.ljust(w) for col, w in zip(row, widths)).rstrip())
        for key in ("single", "bulk", "bulk_own", "minimal_single", "minimal_bulk"):
            if key in r:
                per = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r[key]["cpu_ms_per_invoice"].items(),
                                                                  key=lambda kv: -kv[1]) if v >= 0.005)
                print(f"  CPU ms per invoice, {key}: {per}")
        loads = {k: r[k]["other_load"] for k in ("single", "bulk", "bulk_own", "minimal_single", "minimal_bulk")
                 if k in r}
        if "pgbench_other_load" in r:
            loads = {"pgbench": r["pgbench_other_load"], **loads}
        if loads:
            flag = max(loads.values()) > DISTURBED
            print("  other processes on the machine (% of one core): "
                  + ", ".join(f"{k} {v:.0f} %" for k, v in loads.items())
                  + ("  <- disturbed, run again on a quiet machine" if flag else ""))
        print(f"  rejected invoices: {sum(self.rejections.values())}")
        print("=" * 100)
        r["rejections"] = dict(self.rejections)
        r["targets_met"] = ok
        r["machine"] = {"cores": os.cpu_count(), "postgresql": self.server_version(), "api_processes": len(self.ports)}
        if a.json:
            Path(a.json).write_text(json.dumps(r, indent=2, default=str))
            print(f"results written to {a.json}")
        return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--budgets", type=int, default=200, help="budgets the invoices spread over")
    p.add_argument("--granted", type=int, default=500_000, help="euros granted per budget (one line each)")
    p.add_argument("--single", type=int, default=3000, help="single invoices (0 = skip)")
    p.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients for single invoices")
    p.add_argument("--batches", type=int, default=4, help="bulk batches (0 = skip)")
    p.add_argument("--batch-size", type=int, default=1000, help="invoices per bulk batch (the API takes at most 1,000)")
    p.add_argument("--warmup", type=int, default=100, help="single invoices before measuring (0 = none)")
    p.add_argument("--api-processes", type=int, default=os.cpu_count() or 2, help="`prb serve budget` processes")
    p.add_argument("--skip-raw", action="store_true", help="skip pgbench (then no bulk verdict)")
    p.add_argument("--skip-minimal", action="store_true", help="skip the minimal route (then no single verdict)")
    add_common_args(p, log_level="WARNING")
    args = p.parse_args(argv)
    if not 1 <= args.batch_size <= 1000:
        p.error("--batch-size must be 1 to 1000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = InvoiceBench(args)

    def body() -> bool:
        if not args.skip_raw:
            bench.pgbench()
        needed = (args.single + args.batches * args.batch_size) * (args.retries + 1) + 2 * args.warmup + 200
        worst_cents = 500_00 * (needed // max(1, args.budgets) + 1)  # invoices are at most EUR 500
        if args.granted * 100 < worst_cents:
            raise RuntimeError(f"--granted {args.granted} is too small: a budget may get invoices for "
                               f"EUR {worst_cents / 100:,.0f}; raise --granted or --budgets")
        if not (args.single or args.batches):
            raise RuntimeError("nothing to measure: --single and --batches are both 0")
        bench.start_system()
        if not args.skip_minimal:
            bench.start_minimal()
        lines = bench.open_budgets(args.budgets, args.granted * 100)
        bench.warm_up(lines)
        if args.single:
            bench.phase("single", lambda prefix: bench.single(lines, args.single, args.clients, prefix))
        if args.batches:
            bench.phase("bulk", lambda prefix: bench.bulk(lines, args.batches, args.batch_size, prefix))
            bench.phase("bulk_own", lambda prefix: bench.bulk(lines, args.batches, args.batch_size, prefix,
                                                              own_budgets=True))
        if not args.skip_minimal:
            if args.single:
                bench.phase("minimal_single", lambda prefix: bench.single(lines, args.single, args.clients, prefix,
                                                                          minimal=True), minimal=True)
            if args.batches:
                bench.phase("minimal_bulk", lambda prefix: bench.bulk(lines, args.batches, args.batch_size, prefix,
                                                                      minimal=True), minimal=True)
        return bench.report()

    return run_guarded(bench, body)


if __name__ == "__main__":
    sys.exit(main())
