#!/usr/bin/env python
"""Payment-run benchmark: `create_payment_run` over 100,000 approved invoices against a plain COPY of the same rows.

    .venv/bin/python bench/payment_run.py [--invoices 100000] [--small 20000] [--json out.json]

On PostgreSQL on this machine, in one run (about a minute on a quiet 2-core machine):

1. for context, `pgbench -c 8 -j 2 -T 10 -N` on its own scratch database (`--skip-pgbench` skips it);
2. a scratch database migrated with `prb migrate`; `--invoices` approved invoices in one municipality
   and `--small` in another, inserted with COPY (set-up, not measured; 500 providers, as in
   bench/invoices.py, from which this phase was taken);
3. the raw limit: `COPY (<the run's own query>) TO STDOUT` of the same rows and columns the run
   reads (the query is compiled from `repository._payable_invoices_query`), read through psycopg
   and thrown away; one warm-up, then the best of `--copy-repeat`;
4. the payment run of the small municipality, then of the large one, each in a fresh process:
   time, a split over its steps, the peak RSS of the process (`ru_maxrss`) and its RSS before the
   run (after the imports and the connection). Two sizes show whether memory grows with the run;
5. checks: the stored file is valid pain.001 and its count and control sum are the invoices'
   (read back streaming), one payment item per invoice, every invoice `scheduled`.

Targets: the large run within 2x the COPY of its rows; the run adds less than 200 MB to the RSS
of the process (which holds ~200 MB of imports before it starts), and memory does not grow with
the run (compare the two sizes). Exit status: 0 if every target is met, 2 if one is missed,
1 on an error, 130 when interrupted. Not a test: pytest does not collect bench/. Results:
docs/performance.md ("Invoices and payment runs").
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import multiprocessing as mp
import os
import resource
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import ScratchBench, add_common_args, fmt_cpu, log, other_load, run_guarded, wait_for_quiet, CpuMeter

LARGE, SMALL = "0344", "0363"  # the two municipalities of the run
PROVIDERS = 500  # distinct creditors
TARGET_RATIO = 2.0  # run time / COPY TO time of the same rows
TARGET_RSS_MB = 200.0


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _creditors() -> list[tuple[str, str]]:
    from schwifty import IBAN

    return [(f"Aanbieder {i:03d} Re-integratie BV", str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{i + 1:010d}")))
            for i in range(PROVIDERS)]


def _payable_sql(municipality: str) -> str:
    """The run's own query as SQL text, with its parameters inlined (for COPY)."""
    from sqlalchemy.dialects import postgresql

    from services.budget import repository

    query = repository._payable_invoices_query(municipality)
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


# --- the payment run, in a fresh process (spawned) -------------------------------------------


def _payment_run_child(db_url: str, municipality: str, out: Any) -> None:
    """The budget service's create_payment_run, timed step by step."""
    import sqlalchemy as sa

    import services.budget.domain.payment_file as payment_file
    from services.budget import payments, repository
    from services.budget.domain.payment_run import PaymentRun
    from services.budget.models import PaymentRunCreate
    from shared.auth import Principal, Role
    from shared.config import Settings
    from shared.db import create_db_engine
    from eigenregie.bootstrap import build_runtime

    engine = create_db_engine(db_url, pool_size=2)
    runtime = build_runtime(Settings(database_url=db_url, broker_url=None, environment="test"), engine_override=engine)
    steps: dict[str, float] = collections.defaultdict(float)

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                steps[name] += time.perf_counter() - t
        return wrapper

    def timed_chunks(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            chunks = fn(*args, **kwargs)
            while True:
                t = time.perf_counter()
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                finally:
                    steps["read invoices (server-side cursor, 5,000 a fetch)"] += time.perf_counter() - t
                yield chunk
        return wrapper

    # The command and the aggregate look these up at call time. (Also runs against the code before
    # the streaming run, for a before/after in the same conditions: what is not there is not timed.)
    if hasattr(PaymentRun, "take"):
        repository.payable_invoice_chunks = timed_chunks(repository.payable_invoice_chunks)
        PaymentRun.take = timed("items, checks, one <CdtTrfTxInf> each (take)", PaymentRun.take)
        payments._store_items = timed("COPY of the payment items", payments._store_items)
        payments.insert_with_blob = timed("COPY of the run row with its file (1 MB pieces)", payments.insert_with_blob)
        payment_file.Pain001Writer._write_document = timed("write the document (xmlfile + copy of the transfers)",
                                                           payment_file.Pain001Writer._write_document)
        payment_file.read_back_pain001 = timed("validate + read back (iterparse with the XSD)",
                                               payment_file.read_back_pain001)
    else:
        repository.payable_invoices = timed("select payable invoices", repository.payable_invoices)
        payments.bulk_insert = timed("COPY of the payment items", payments.bulk_insert)
        payment_file.build_pain001 = timed("build_pain001 (sepaxml + XSD + totals)", payment_file.build_pain001)
    started_at: dict[str, float] = {}
    labels = {"UPDATE": "UPDATE invoices to scheduled", "INSERT INTO budget.payment_run ": "INSERT the run row with the file"}

    def label(statement: str) -> str | None:
        return next((v for k, v in labels.items() if statement.lstrip().startswith(k)), None)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if (name := label(statement)) is not None:
            started_at[name] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if (name := label(statement)) is not None and name in started_at:
            steps[name] += time.perf_counter() - started_at.pop(name)

    finance = Principal(subject="bench-finance", role=Role.FINANCE, municipality=municipality)
    with engine.connect() as conn:  # connect before timing, as a running service would be
        backend = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    rss_before = _rss_mb()
    started = time.perf_counter()
    with runtime.uow("budget") as uow:
        run = payments.create_payment_run(uow, finance, PaymentRunCreate(execution_date=date.today() + timedelta(days=2)))
    seconds = time.perf_counter() - started
    t = os.times()
    out.put({"seconds": seconds, "run_id": run.id, "items": run.item_count, "rss_before_mb": rss_before,
             "max_rss_mb": _max_rss_mb(), "steps": dict(steps), "cpu_seconds": t.user + t.system,
             "backend_cpu_seconds": _proc_cpu_seconds(backend)})  # the backend exits with the process
    engine.dispose()


def _in_fresh_process(target: Any, *args: Any, timeout: float = 900) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, out), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return out.get(timeout=1.0)
            except Exception:  # queue.Empty
                if not proc.is_alive() and out.empty():
                    raise RuntimeError(f"{target.__name__} exited with {proc.exitcode} without a result") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target.__name__} took more than {timeout:.0f} s") from None
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


# --- the benchmark ----------------------------------------------------------------------------


class PaymentRunBench(ScratchBench):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        from _common import pg_conninfo

        self.dbname = f"{args.db_prefix}_{self.tag}"
        self.pgbench_db = f"{args.db_prefix}_pgbench_{self.tag}"
        self.db = pg_conninfo(self.admin_url, self.dbname)

    def start_system(self) -> None:
        from shared.db import create_db_engine
        from tests.support.processes import Processes

        self.create_db(self.dbname)
        env = {"DATABASE_URL": self.db["url"], "PRB_DATABASE_URL": self.db["url"], "PRB_ENVIRONMENT": "test",
               "PRB_DATA_DIR": str(self.log_dir / "data"), "PRB_LOG_LEVEL": self.args.log_level}
        self.procs = Processes(env, self.log_dir)
        for name in ("BROKER_URL", "PRB_BROKER_URL"):
            self.procs.env.pop(name, None)
        self.procs.run("migrate")
        self.engine = create_db_engine(self.db["url"], pool_size=2)
        log(f"migrated {self.dbname}")

    def insert_approved(self, municipality: str, count: int) -> int:
        """`count` approved invoices in `municipality`, written with COPY (set-up, not measured)."""
        import sqlalchemy as sa
        from sqlmodel import Session

        from services.budget.models import Invoice
        from shared.db import bulk_insert

        started = time.perf_counter()
        creditors, base = _creditors(), datetime.now(timezone.utc) - timedelta(days=1)
        budgets = [(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(2_000)]
        total = 0
        with Session(self.engine) as session:
            for first in range(0, count, 20_000):
                rows = []
                for i in range(first, min(count, first + 20_000)):
                    budget_id, line_id, plan_id, client_id = budgets[i % len(budgets)]
                    name, iban = creditors[i % PROVIDERS]
                    amount = 10_000 + i % 5_000
                    total += amount
                    rows.append({"id": str(uuid.uuid4()), "municipality": municipality, "budget_id": budget_id,
                                 "budget_line_id": line_id, "plan_id": plan_id, "client_id": client_id,
                                 "flow": "provider", "source": "json", "provider_id": f"provider-{i % PROVIDERS}",
                                 "provider_name": name, "creditor_name": name, "creditor_iban": iban,
                                 "invoice_number": f"PAY-{municipality}-{i}", "currency": "EUR",
                                 "amount_excl_vat_cents": amount, "vat_cents": 0, "amount_cents": amount,
                                 "held_cents": 0, "held_pay_cents": 0, "credited_cents": 0,
                                 "content_hash": uuid.uuid4().hex * 2, "status": "approved", "received_at": base,
                                 "approved_at": base + timedelta(microseconds=i), "approved_by": "bench-finance"})
                bulk_insert(session, Invoice.__table__, rows)
            session.commit()
        with self.engine.begin() as conn:  # statistics, as autovacuum would have them after such a load
            conn.execute(sa.text("ANALYZE budget.invoice"))
        log(f"inserted {count:,} approved invoices in {municipality} ({PROVIDERS} providers) with COPY in "
            f"{time.perf_counter() - started:.1f} s (set-up, not measured)")
        return total

    def copy_to(self, municipality: str) -> dict[str, Any]:
        """COPY (the run's query) TO STDOUT through psycopg, the bytes thrown away."""
        import psycopg

        sql = f"COPY ({_payable_sql(municipality)}) TO STDOUT"
        conninfo = f"host={self.db['host']} port={self.db['port']} user={self.db['user']} dbname={self.dbname}"
        if self.db["password"]:
            conninfo += f" password={self.db['password']}"
        times, size, rows = [], 0, 0
        with psycopg.connect(conninfo) as conn:
            for attempt in range(self.args.copy_repeat + 1):  # the first warms the cache
                size = rows = 0
                t = time.perf_counter()
                with conn.cursor() as cur:
                    with cur.copy(sql) as copy:
                        for block in copy:
                            size += len(block)
                    took = time.perf_counter() - t
                    rows = cur.rowcount
                if attempt:
                    times.append(took)
        log(f"COPY TO STDOUT of the run's rows ({rows:,} rows, {size / 2**20:.1f} MB): best {min(times):.3f} s "
            f"of {len(times)} ({', '.join(f'{x:.3f}' for x in times)})")
        return {"seconds": min(times), "all": times, "rows": rows, "mb": size / 2**20}

    def payment_run(self, municipality: str, count: int, expected_cents: int) -> dict[str, Any]:
        import sqlalchemy as sa

        from services.budget.domain import payment_file
        from services.budget.models import Invoice, PaymentItem

        read_back_pain001 = getattr(payment_file, "read_back_pain001", None)

        a = self.args
        wait_for_quiet(a.quiet_below, a.quiet_timeout, "the payment run")
        log(f"payment run: create_payment_run over {count:,} approved invoices ({municipality}) in a fresh process")
        meter = CpuMeter(self.dbname, {}, redis=False)
        meter.start()
        run = _in_fresh_process(_payment_run_child, self.db["url"], municipality)
        meter.extra.update({"payment run process": run["cpu_seconds"], "its PostgreSQL backend":
                            run["backend_cpu_seconds"]})
        cpu = meter.stop()
        with self.engine.connect() as conn:
            xml = conn.execute(sa.text("SELECT xml FROM budget.payment_run WHERE id = :id"), {"id": run["run_id"]}).scalar()
            schema = conn.execute(sa.text("SELECT pain_schema FROM budget.payment_run WHERE id = :id"),
                                  {"id": run["run_id"]}).scalar()
            scheduled = conn.execute(sa.select(sa.func.count()).select_from(Invoice).where(
                Invoice.municipality == municipality, Invoice.status == "scheduled")).scalar()
            items = conn.execute(sa.select(sa.func.count()).select_from(PaymentItem)
                                 .where(PaymentItem.run_id == run["run_id"])).scalar()
        n, total = read_back_pain001(io.BytesIO(bytes(xml)), schema) if read_back_pain001 else (None, None)
        if n is None:
            from services.budget.domain.payment_file import parse_pain001_totals

            n, total = parse_pain001_totals(bytes(xml))
        if not (n == count == scheduled == items == run["items"]) or total.cents != expected_cents:
            raise RuntimeError(f"payment run holds {n} payments for {total}, {items} items, {scheduled} invoices "
                               f"scheduled; expected {count} for {expected_cents / 100:.2f}")
        run.update(invoices=count, file_mb=len(xml) / 2**20, total_eur=str(total.decimal), other_load=other_load(cpu),
                   cpu=cpu)
        steps = run["steps"]
        steps["the rest (outbox, audit, flush, commit)"] = run["seconds"] - sum(steps.values())
        log(f"  {run['seconds']:.2f} s; RSS {run['rss_before_mb']:.0f} MB before, peak {run['max_rss_mb']:.0f} MB; "
            f"file {run['file_mb']:.1f} MB, {n:,} transfers, EUR {total.decimal}, valid {schema}; other processes "
            f"{run['other_load']:.0f} % of a core")
        for step, secs in sorted(steps.items(), key=lambda kv: -kv[1]):
            log(f"    {step:<58} {secs:6.2f} s")
        log("  CPU from the start of the process to its end (% of one core):\n" + fmt_cpu(cpu, count, unit="invoice"))
        return run

    def report(self) -> bool:
        r, a = self.results, self.args
        big, small, copy = r["run"], r.get("run_small"), r["copy"]
        ratio = big["seconds"] / copy["seconds"]
        growth = None
        if small:
            growth = (big["max_rss_mb"] - small["max_rss_mb"]) / max(1, big["invoices"] - small["invoices"]) * 1000
        time_ok = ratio <= TARGET_RATIO
        # The process holds ~200 MB of imports (the whole app) before it starts; what the run adds is
        # what the target is about.
        rss_ok = big["max_rss_mb"] - big["rss_before_mb"] < TARGET_RSS_MB
        rows = []
        if "pgbench_tps" in r:
            rows.append((f"pgbench -c 8 -j 2 -T {a.pgbench_seconds} -N (context)", f"{r['pgbench_tps']:,.0f} TPS", "", ""))
        rows.append((f"COPY (the run's query) TO STDOUT, {copy['rows']:,} rows", f"{copy['seconds']:.3f} s", "(the limit)", ""))
        if small:
            rows.append((f"payment run, {small['invoices']:,} invoices", f"{small['seconds']:.2f} s, RSS "
                         f"{small['rss_before_mb']:.0f} -> {small['max_rss_mb']:.0f} MB", "", ""))
        rows.append((f"payment run, {big['invoices']:,} invoices", f"{big['seconds']:.2f} s = {ratio:.1f} x COPY",
                     f"<= {TARGET_RATIO:.0f} x ({TARGET_RATIO * copy['seconds']:.2f} s)", "met" if time_ok else "NOT MET"))
        rows.append(("  its RSS (fresh process): before -> peak", f"{big['rss_before_mb']:.0f} -> {big['max_rss_mb']:.0f} MB "
                     f"(+{big['max_rss_mb'] - big['rss_before_mb']:.0f} MB)", f"+ < {TARGET_RSS_MB:.0f} MB",
                     "met" if rss_ok else "NOT MET"))
        if growth is not None:
            rows.append(("  RSS growth with the run", f"{growth:+.2f} MB per 1,000 invoices "
                         f"(file {big['file_mb']:.1f} MB)", "flat", ""))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        print()
        print("=" * 100)
        print("Eigen Regie payment-run benchmark")
        print(f"  machine: {os.cpu_count()} cores, PostgreSQL {self.server_version()}")
        print(f"  command: {' '.join([Path(sys.executable).name, *sys.argv])}")
        for row in rows:
            print("  " + "  ".join(col.ljust(w) for col, w in zip(row, widths)).rstrip())
        loads = {"run": big["other_load"], **({"small run": small["other_load"]} if small else {})}
        print("  other processes on the machine (% of one core): " + ", ".join(f"{k} {v:.0f} %" for k, v in loads.items()))
        print("=" * 100)
        ok = time_ok and rss_ok
        r.update(ratio=ratio, rss_growth_mb_per_1000=growth, targets_met=ok)
        if a.json:
            Path(a.json).write_text(json.dumps(r, indent=2, default=str))
            print(f"results written to {a.json}")
        return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--invoices", type=int, default=100_000, help="invoices in the measured run")
    p.add_argument("--small", type=int, default=20_000, help="invoices in the second, smaller run (0 = none)")
    p.add_argument("--copy-repeat", type=int, default=3, help="measured COPY TO passes (after one warm-up)")
    p.add_argument("--skip-pgbench", action="store_true", help="skip pgbench (only context here)")
    p.add_argument("--db-prefix", default="prb_bench", help="name prefix of the scratch databases")
    add_common_args(p, log_level="WARNING")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = PaymentRunBench(args)

    def body() -> bool:
        if not args.skip_pgbench:
            bench.pgbench()
        bench.start_system()
        expected = bench.insert_approved(LARGE, args.invoices)
        expected_small = bench.insert_approved(SMALL, args.small) if args.small else 0
        wait_for_quiet(args.quiet_below, args.quiet_timeout, "COPY TO")
        bench.results["copy"] = bench.copy_to(LARGE)

        if args.small:
            bench.results["run_small"] = bench.payment_run(SMALL, args.small, expected_small)
        bench.results["run"] = bench.payment_run(LARGE, args.invoices, expected)
        return bench.report()

    return run_guarded(bench, body)


if __name__ == "__main__":
    sys.exit(main())
