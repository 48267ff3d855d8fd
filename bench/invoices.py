"""Benchmark: invoices accepted per second through the partner API, and a 100,000-invoice payment run.

On PostgreSQL on this machine, in one run:

1. the raw limit: pgbench simple-update TPS on a scratch database (as bench/event_bus.py);
2. `prb serve budget` as real processes (one per core) on a scratch database, with budgets
   opened through the budget service's own PlanApproved handler; then
   a. single invoices: POST /budget/invoices from concurrent clients, every check on
      (line open, dates, remaining budget, provider, IBAN, duplicates) and the outbox row;
   b. bulk: POST /budget/invoices/bulk with batches of 1,000;
   every answer must be "accepted": a rejected invoice fails the benchmark;
3. a payment run over 100,000 approved invoices (rows inserted in bulk for the set-up): the
   budget service's `create_payment_run` handler (select, pain.001 .09 built with sepaxml and
   validated against the XSD, items stored, invoices marked scheduled), time and peak memory.

Targets: intake at least 30 % of pgbench TPS; the 100,000-payment run under 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from event_bus import ADMIN_URL, REDIS_URL, Bench, log  # noqa: E402

MUNICIPALITY = "0014"
PROVIDER_NAME = "Bench Opleidingen BV"
PROVIDER_IBAN = "NL91ABNA0417164300"


def _run_all(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class InvoiceBench(Bench):
    def start_system(self) -> None:
        from shared.db import create_db_engine
        from tests.support.processes import Processes

        self.create_db(self.dbname)
        env = {"DATABASE_URL": self.db["url"], "BROKER_URL": self.redis_url, "PRB_ENVIRONMENT": "test",
               "PRB_DATA_DIR": str(self.log_dir / "data"), "PRB_LOG_LEVEL": self.args.log_level}
        self.procs = Processes(env, self.log_dir)
        self.procs.run("migrate")
        self.engine = create_db_engine(self.db["url"], pool_size=4)
        self.env = env
        self.ports = [18700 + i for i in range(self.args.api_processes)]
        for port in self.ports:
            self.procs.start(f"api-{port}", "serve", "budget", "--port", str(port))
        for port in self.ports:
            self.procs.wait_healthy(f"http://127.0.0.1:{port}")
        log(f"migrated {self.dbname}; {len(self.ports)} budget API process(es) on {self.ports}")

    def runtime(self) -> Any:
        from shared.config import Settings
        from shared.runtime import Runtime

        return Runtime(Settings(database_url=self.db["url"], broker_url=self.redis_url, environment="test"),
                       engine_override=self.engine)

    def open_budgets(self, count: int) -> list[str]:
        """Budget lines opened by the budget service's own handler for PlanApproved."""
        import sqlalchemy as sa

        from services.budget.handlers import open_budget_on_plan_approved
        from services.budget.models import BudgetLine
        from shared.events import new_event

        runtime, line_ids = self.runtime(), []
        start, end = date.today() - timedelta(days=30), date.today() + timedelta(days=300)
        for _ in range(count):
            plan_id = str(uuid.uuid4())
            event = new_event("PlanApproved", tenant=MUNICIPALITY, subject=plan_id, producer="intake",
                              correlation_id="bench", payload={
                                  "plan_id": plan_id, "client_id": str(uuid.uuid4()), "plan_version": 3,
                                  "scheme": "prb", "granted_cents": 50_000_000, "execution_deadline": end.isoformat(),
                                  "lines": [{"plan_line_id": str(uuid.uuid4()), "category": "training_skills",
                                             "granted_cents": 50_000_000, "provider_name": PROVIDER_NAME,
                                             "starts_on": start.isoformat(), "ends_on": end.isoformat()}]})
            with runtime.uow("budget") as uow:
                open_budget_on_plan_approved(event, uow)
                uow.commit()
        with self.engine.connect() as conn:
            line_ids = list(conn.execute(sa.select(BudgetLine.id)).scalars())
        log(f"opened {len(line_ids)} budgets")
        return line_ids

    def headers(self) -> dict[str, str]:
        from shared.auth import Principal, Role, issue_token
        from shared.config import Settings

        principal = Principal(subject="bench-provider", role=Role.PROVIDER, municipality=MUNICIPALITY,
                              provider_id="bench-provider")
        token = issue_token(principal, Settings(environment="test"))
        return {"Authorization": f"Bearer {token}"}

    @staticmethod
    def invoice(line_id: str, number: str) -> dict[str, Any]:
        return {"budget_line_id": line_id, "invoice_number": number, "issue_date": date.today().isoformat(),
                "provider_name": PROVIDER_NAME, "provider_iban": PROVIDER_IBAN, "amount_excl_vat": "125.50",
                "vat": "0.00", "service_from": date.today().isoformat(), "service_to": date.today().isoformat()}

    def single(self, line_ids: list[str], total: int, clients: int) -> dict[str, Any]:
        import httpx

        headers, errors, counter = self.headers(), [], iter(range(total))
        lock = threading.Lock()

        def client(n: int) -> None:
            base = f"http://127.0.0.1:{self.ports[n % len(self.ports)]}"
            with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
                while True:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    r = http.post("/budget/invoices", json=self.invoice(line_ids[i % len(line_ids)], f"S-{i}"))
                    if r.status_code != 201 or r.json()["status"] not in ("received", "awaiting_client"):
                        errors.append(r.text[:300])

        started = time.perf_counter()
        _run_all([threading.Thread(target=client, args=(n,)) for n in range(clients)])
        seconds = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"{len(errors)} single invoices not accepted, e.g. {errors[0]}")
        return {"invoices": total, "seconds": seconds, "per_second": total / seconds, "clients": clients}

    def bulk(self, line_ids: list[str], batches: int, size: int) -> dict[str, Any]:
        import httpx

        headers, errors = self.headers(), []

        def send(b: int) -> None:
            base = f"http://127.0.0.1:{self.ports[b % len(self.ports)]}"
            body = [self.invoice(line_ids[(b * size + i) % len(line_ids)], f"B-{b}-{i}") for i in range(size)]
            with httpx.Client(base_url=base, timeout=300, headers=headers) as http:
                r = http.post("/budget/invoices/bulk", json=body)
            if r.status_code != 200:
                errors.append(r.text[:300])
                return
            refused = [item for item in r.json()["results"] if item["status"] != "accepted"]
            if refused:
                errors.append(json.dumps(refused[0])[:300])

        # As many batches in flight as there are API processes.
        started = time.perf_counter()
        for first in range(0, batches, len(self.ports)):
            _run_all([threading.Thread(target=send, args=(b,))
                      for b in range(first, min(first + len(self.ports), batches))])
        seconds = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"bulk invoices not accepted, e.g. {errors[0]}")
        return {"invoices": batches * size, "seconds": seconds, "per_second": batches * size / seconds,
                "batch_size": size}

    def payment_run(self, count: int) -> dict[str, Any]:
        import sqlalchemy as sa

        from services.budget.handlers import create_payment_run
        from services.budget.models import Invoice, PaymentRunCreate
        from services.budget.domain.payment_file import parse_pain001_totals
        from shared.auth import Principal, Role

        with self.engine.begin() as conn:  # only the 100,000 below may be payable
            conn.execute(sa.update(Invoice).values(status="rejected"))
        now, stamp = time.time(), datetime.now(timezone.utc)
        rows = [{"id": str(uuid.uuid4()), "municipality": MUNICIPALITY, "budget_id": "bench", "budget_line_id": "bench",
                 "plan_id": "bench", "client_id": "bench", "provider_id": f"p-{i % 500}",
                 "provider_name": PROVIDER_NAME, "creditor_name": PROVIDER_NAME, "creditor_iban": PROVIDER_IBAN,
                 "invoice_number": f"PAY-{i}", "currency": "EUR", "amount_excl_vat_cents": 10000 + i % 5000,
                 "vat_cents": 0, "amount_cents": 10000 + i % 5000, "content_hash": uuid.uuid4().hex * 2,
                 "status": "approved", "holdback_status": "none", "received_at": stamp, "approved_at": stamp} for i in range(count)]
        columns = {c.name for c in Invoice.__table__.columns}
        rows = [{k: v for k, v in row.items() if k in columns} for row in rows]
        with self.engine.begin() as conn:
            for start in range(0, count, 5000):
                conn.execute(sa.insert(Invoice), rows[start:start + 5000])
        log(f"inserted {count} approved invoices in {time.time() - now:.1f} s (set-up, not measured)")
        del rows

        finance = Principal(subject="bench-finance", role=Role.FINANCE, municipality=MUNICIPALITY)
        runtime = self.runtime()
        # Peak memory from the process's max RSS (tracemalloc would slow the run down several times).
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        with runtime.uow("budget") as uow:
            run = create_payment_run(uow, finance, PaymentRunCreate(execution_date=date.today() + timedelta(days=2)))
        seconds = time.perf_counter() - started
        with self.engine.connect() as conn:
            xml = conn.execute(sa.text("SELECT xml FROM budget.payment_run WHERE id = :id"), {"id": run.id}).scalar()
            scheduled = conn.execute(sa.select(sa.func.count()).select_from(Invoice)
                                     .where(Invoice.status == "scheduled")).scalar()
        n, total = parse_pain001_totals(bytes(xml))
        if n != count or scheduled != count:
            raise RuntimeError(f"payment run holds {n} payments and scheduled {scheduled}, expected {count}")
        return {"invoices": count, "seconds": seconds, "max_rss_before_mb": rss_before,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "total_eur": str(total.decimal), "file_mb": len(xml) / 2**20}

    def report_invoices(self) -> bool:
        r, a = self.results, self.args
        tps = r.get("pgbench_tps")
        print("=" * 78)
        print("Eigen Regie invoice benchmark")
        print(f"  machine: {os.cpu_count()} cores; command: python bench/invoices.py {' '.join(sys.argv[1:])}")
        if tps:
            print(f"  pgbench -c 8 -j 2 -T {a.pgbench_seconds} -N : {tps:8.0f} TPS")
        ok = True
        for key, label in (("single", "single invoices"), ("bulk", f"bulk, batches of {a.batch_size}")):
            if key not in r:
                continue
            rate = r[key]["per_second"]
            line = f"  {label:28s}: {rate:8.0f} invoices/s ({r[key]['invoices']} in {r[key]['seconds']:.1f} s)"
            if tps:
                share = 100 * rate / tps
                met = share >= 30
                ok &= met
                line += f" = {share:.0f} % of pgbench -> {'met' if met else 'NOT MET'} (target 30 %)"
            print(line)
        if "payment_run" in r:
            p = r["payment_run"]
            met = p["seconds"] < 10
            ok &= met
            print(f"  payment run of {p['invoices']}: {p['seconds']:.2f} s, max RSS {p['max_rss_before_mb']:.0f} -> "
                  f"{p['max_rss_mb']:.0f} MB, file {p['file_mb']:.1f} MB -> "
                  f"{'met' if met else 'NOT MET'} (target < 10 s)")
        print("=" * 78)
        if a.json:
            Path(a.json).write_text(json.dumps(r, indent=2, default=str))
        return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--budgets", type=int, default=200, help="budgets the invoices spread over")
    p.add_argument("--single", type=int, default=3000, help="single invoices")
    p.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients for single invoices")
    p.add_argument("--batches", type=int, default=4, help="bulk batches")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--payments", type=int, default=100_000, help="invoices in the payment run")
    p.add_argument("--api-processes", type=int, default=os.cpu_count() or 2, help="prb serve budget processes")
    p.add_argument("--log-level", default="WARNING", help="PRB_LOG_LEVEL of the API processes")
    p.add_argument("--pgbench-seconds", type=int, default=10)
    p.add_argument("--pgbench-scale", type=int, default=1)
    p.add_argument("--skip-raw", action="store_true", help="skip pgbench")
    p.add_argument("--quiet-below", type=float, default=25.0)
    p.add_argument("--quiet-timeout", type=float, default=30.0)
    p.add_argument("--postgres-url", default=ADMIN_URL)
    p.add_argument("--redis-url", default=REDIS_URL, help="a Redis db the benchmark may flush")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--keep-db", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    bench = InvoiceBench(args)
    try:
        if not args.skip_raw:
            bench.raw_limits()
        bench.start_system()
        lines = bench.open_budgets(args.budgets)
        if args.single:
            bench.results["single"] = bench.single(lines, args.single, args.clients)
            log(f"single: {bench.results['single']['per_second']:.0f} invoices/s")
        if args.batches:
            bench.results["bulk"] = bench.bulk(lines, args.batches, args.batch_size)
            log(f"bulk: {bench.results['bulk']['per_second']:.0f} invoices/s")
        if args.payments:
            bench.results["payment_run"] = bench.payment_run(args.payments)
        ok = bench.report_invoices()
    except KeyboardInterrupt:
        log("interrupted: tearing down")
        return 130
    except Exception as exc:  # noqa: BLE001 - report, tear down, exit non-zero
        log(f"benchmark failed: {type(exc).__name__}: {str(exc)[:600]}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        bench.teardown()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
