#!/usr/bin/env python
"""Pages benchmark: four pages of one large municipality, server-side, over real processes (issue 15).

    .venv/bin/python bench/pages.py [--trajectories 1000000] [--clients 10000] [--seconds 20] [--users 4]

On PostgreSQL on this machine, in one run:

1. a scratch database (`prb_bench_<id>`) migrated with `prb migrate`;
2. generated with COPY (set-up, not measured), all in municipality 0014: `--clients` clients in
   intake (name, BSN, facts encrypted with the product's own key ring, as intake writes them), a
   caseload of `--caseload` clients per case manager (the demo case manager `km-0014` has the first);
   1-3 plans per client with their versions in intake and trajectories in monitoring (the newest of
   80 % of them running), and up to `--trajectories` trajectories in all: the rest closed ones of
   former clients (ten each), whose personal data intake no longer holds; follow-ups (a few open ones
   overdue), progress reports, conversations and outcomes; per plan a budget with one line; paid
   invoices on a tenth of the closed budgets and `--waiting` invoices in finance's queue; reviews
   awaiting a decision for 2 % of the clients; then VACUUM ANALYZE;
3. `prb serve intake|budget|monitoring|notifications` as real processes, each API in its own process
   as the product runs distributed; the pages are served by intake, and call the APIs through one
   gateway address (PRB_WEB_API_BASE_URL) as behind the ingress; `bench/_gateway.py` plays the ingress;
4. log-in as the product does (POST /login, the local OpenID Connect issuer's one-click code flow, dev
   and test) for the case manager, finance and policy;
5. per page, one at a time: `--users` threads (httpx) requesting it for `--seconds` after a warm-up;
   time to the full response at the client; the CPU of the API processes and PostgreSQL per request.

Pages: the caseload (/caseload), a client's file (/caseload/clients/<id>, random clients of the
caseload), the finance queue (/finance/invoices) and the policy dashboard (/policy/benchmark).
Target: p95 < 300 ms per page. Exit status: 0 if every page meets it, 2 if one misses it, 1 on an
error, 130 when interrupted. Not a test: pytest does not collect bench/. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _common import (
    REPO,
    CpuMeter,
    ScratchBench,
    add_common_args,
    fmt_ms,
    log,
    other_load,
    pg_conninfo,
    run_guarded,
    summary_ms,
    wait_for_quiet,
)

M = "0014"  # a demo municipality: the local issuer's demo staff log in there
CASE_MANAGER = f"km-{M}"
FIRST_DAY, LAST_DAY = date(2019, 1, 1), date(2026, 11, 30)
TARGET_MS = 300.0
PAGES = ("caseload", "client file", "finance queue", "policy dashboard")
ROLE_OF = {"caseload": "case_manager", "client file": "case_manager", "finance queue": "finance",
           "policy dashboard": "policy"}
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _uuid(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PagesBench(ScratchBench):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.dbname = f"{args.db_prefix}{self.tag}"
        self.db = pg_conninfo(self.admin_url, self.dbname)
        self.rnd = random.Random(args.seed)
        self.pids: dict[str, int] = {}
        self.caseload_ids: list[str] = []

    # --- set-up --------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.db["url"], "PRB_DATABASE_URL": self.db["url"], "PRB_ENVIRONMENT": "test",
                "BROKER_URL": self.args.redis_url, "PRB_DATA_DIR": str(self.log_dir / "data"),
                "PRB_LOG_LEVEL": self.args.log_level,
                # The load logs in as one person per role: the limits per log-in are not under test here.
                "PRB_RATE_LIMIT": "1000000/minute", "PRB_RATE_LIMIT_LOGIN": "1000/minute"}

    def migrate(self) -> None:
        from shared.db import create_db_engine
        from tests.support.processes import Processes

        if self.args.reuse_db:
            self.dbname = self.args.reuse_db
            from _common import pg_conninfo

            self.db = pg_conninfo(self.admin_url, self.dbname)
        else:
            self.create_db(self.dbname)
        self.procs = Processes(self.env(), self.log_dir)
        if not self.args.reuse_db:
            self.procs.run("migrate")
        self.engine = create_db_engine(self.db["url"], pool_size=2)
        log(f"migrated {self.dbname}")

    def load(self) -> None:
        from shared import field_crypto
        from shared.config import Settings

        a, rnd = self.args, self.rnd
        started = time.perf_counter()
        crypto = field_crypto.configure(Settings(environment="test"))  # the processes' keys (test defaults)
        n_clients, n_plans = a.clients, a.trajectories
        days = (LAST_DAY - FIRST_DAY).days
        counts: dict[str, int] = {}

        def case_manager(i: int) -> str:
            k = i // a.caseload
            return CASE_MANAGER if k == 0 else f"{CASE_MANAGER}-{k:03d}"

        def clients() -> Iterator[tuple[Any, ...]]:
            for i in range(n_clients):
                bsn = f"{100000000 + i:09d}"
                yield (_uuid(0x10, i), M, f"C{i:07d}", crypto.encrypt(f"Cliënt {i} Bench"),
                       crypto.encrypt(f"client{i}@example.org"), crypto.encrypt("0612345678"), "nl", "prb", "WWB",
                       case_manager(i), NOW, crypto.encrypt(f"Dorpsstraat {i}, Groningen"), date(1980, 1, 1)
                       + timedelta(days=i % 9000), crypto.encrypt(json.dumps({"benefit_months": 24})), NOW,
                       crypto.encrypt(bsn), crypto.keyed_hash(bsn))

        counts["clients"] = self.copy("intake.client", (
            "id", "municipality", "client_number", "name", "email", "phone", "language", "scheme", "benefit_type",
            "case_manager", "created_at", "address", "date_of_birth", "facts", "updated_at", "bsn_encrypted",
            "bsn_hash"), clients())
        self.caseload_ids = [_uuid(0x10, i) for i in range(min(a.caseload, n_clients))]

        # Current clients have 1-3 plans (the newest running for 80 % of them); the other trajectories
        # are of former clients, closed, whose personal data intake no longer holds (monitoring and
        # budget keep their pseudonymous records): ten per former client.
        content = crypto.encrypt(json.dumps({"situation": "Bench situatie", "goals": "Werk vinden"}))
        plans: list[tuple[str, str, date, bool, int]] = []  # plan id, client id, started, running, granted
        for i in range(n_clients):
            k = 1 + i % 3
            for j in range(k):
                if len(plans) >= n_plans:
                    break
                running = j == k - 1 and i % 5 != 0
                started_on = (LAST_DAY - timedelta(days=rnd.randrange(30, 330)) if running else
                              FIRST_DAY + timedelta(days=rnd.randrange(days - 400)))
                plans.append((_uuid(1, len(plans)), _uuid(0x10, i), started_on, running,
                              rnd.randrange(1000_00, 6000_00, 100)))
        self.current_plans = len(plans)
        for p in range(len(plans), n_plans):
            plans.append((_uuid(1, p), _uuid(0x11, p // 10), FIRST_DAY + timedelta(days=rnd.randrange(days - 400)),
                          False, rnd.randrange(1000_00, 6000_00, 100)))
        counts["plans of current clients"] = self.current_plans

        def intake_plans() -> Iterator[tuple[Any, ...]]:
            for k, (plan_id, client_id, started_on, running, granted) in enumerate(plans[: self.current_plans]):
                at = datetime.combine(started_on, datetime.min.time(), UTC)
                lines = [{"line_id": _uuid(6, k), "category": "coaching", "provider_name": "Bench Opleidingen BV",
                          "asked_cents": granted, "granted_cents": granted, "starts_on": started_on.isoformat(),
                          "ends_on": (started_on + timedelta(days=365)).isoformat(), "holdback_percent": 0}]
                yield (plan_id, M, client_id, "approved" if running else "closed", 1, "Traject", "prb", granted,
                       granted, started_on + timedelta(days=365), at, at, at, CASE_MANAGER, content, 1, 1,
                       json.dumps(lines), CASE_MANAGER, at,
                       None if running else started_on + timedelta(days=300), None if running else "completed")

        plan_columns = ("id", "municipality", "client_id", "status", "version", "title", "scheme", "requested_cents",
                        "granted_cents", "execution_deadline", "created_at", "submitted_at", "decided_at",
                        "decided_by", "content", "latest_version_number", "submitted_version_number", "granted",
                        "created_by", "updated_at", "closed_on", "closure_reason")
        counts["intake plans"] = self.copy("intake.plan", plan_columns, intake_plans())
        sha = hashlib.sha256(content.encode()).hexdigest()
        counts["plan versions"] = self.copy(
            "intake.plan_version", ("id", "plan_id", "number", "kind", "content", "sha256", "created_by",
                                    "created_at"),
            ((_uuid(2, k), p[0], 1, "submitted", content, sha, CASE_MANAGER, NOW)
             for k, p in enumerate(plans[: self.current_plans])))

        # Reviews awaiting a decision: a submitted plan for 2 % of the clients (no budget or trajectory yet).
        reviewed = [i for i in range(n_clients) if i % 50 == 7]
        counts["plans under review"] = self.copy("intake.plan", plan_columns, (
            (_uuid(3, i), M, _uuid(0x10, i), "submitted", 1, "Nieuw traject", "prb", 2500_00, None,
             date(2027, 12, 1), NOW, NOW, None, None, content, 1, 1, None, CASE_MANAGER, NOW, None, None)
            for i in reviewed))
        counts["reviews"] = self.copy("intake.review", (
            "id", "municipality", "plan_id", "plan_version_number", "case_manager", "status", "policy",
            "submitted_on", "due_on", "warn_on", "created_at"),
            ((_uuid(4, i), M, _uuid(3, i), 1, case_manager(i), "awaiting_decision", "{}", date(2026, 11, 20),
              date(2026, 12, 18) if i % 3 else date(2026, 11, 28), date(2026, 12, 11), NOW) for i in reviewed))

        def trajectories() -> Iterator[tuple[Any, ...]]:
            for k, (plan_id, client_id, started_on, running, granted) in enumerate(plans):
                yield (plan_id, "plan", M, client_id, "prb", _uuid(5, k), granted, 0 if running else granted // 2,
                       started_on, started_on + timedelta(days=365), False, "running" if running else "closed",
                       None if running else started_on + timedelta(days=300), rnd.choice(("wwb", "wwb", "nug")),
                       rnd.choice(("female", "male")), rnd.choice(("under_35", "35_44", "45_plus")),
                       None if running else rnd.choice(("work_after", "no_work_ended", "unknown")),
                       rnd.randrange(0, 3000), 0)

        counts["trajectories"] = self.copy("monitoring.trajectory", (
            "plan_id", "kind", "municipality", "client_id", "scheme", "budget_id", "granted_cents", "spent_cents",
            "started_on", "execution_deadline", "report_overdue", "status", "closed_on", "benefit", "gender",
            "age_band", "outcome_category", "case_minutes", "external_cost_cents"), trajectories())
        counts["trajectory lines"] = self.copy("monitoring.trajectory_line", (
            "plan_line_id", "plan_id", "municipality", "category", "granted_cents", "provider_name", "started_on",
            "scheme", "benefit", "first_of_category"),
            ((_uuid(6, k), p[0], M, "coaching", p[4], "Bench Opleidingen BV", p[2], "prb", "wwb", True)
             for k, p in enumerate(plans)))

        def follow_ups() -> Iterator[tuple[Any, ...]]:
            for k, (plan_id, client_id, started_on, running, _g) in enumerate(plans):
                due = started_on + timedelta(days=60)
                yield (_uuid(7, 2 * k), M, plan_id, client_id, "progress_report", "Voortgangsrapportage", due,
                       "done", due)
                if running:  # one open, 5 % of them overdue
                    due = NOW.date() - timedelta(days=3) if k % 20 == 0 else NOW.date() + timedelta(days=k % 90)
                    yield (_uuid(7, 2 * k + 1), M, plan_id, client_id, "progress_report", "Voortgangsrapportage",
                           due, "open", None)

        counts["follow-ups"] = self.copy("monitoring.follow_up", (
            "id", "municipality", "plan_id", "client_id", "kind", "title", "due_on", "status", "done_on"),
            follow_ups())
        counts["progress reports"] = self.copy("monitoring.progress_report", (
            "id", "municipality", "plan_id", "client_id", "reported_by", "reported_by_role", "on_track", "summary",
            "created_at"), ((_uuid(8, k), M, p[0], p[1], CASE_MANAGER, "case_manager", True, "Gaat goed", NOW)
                            for k, p in enumerate(plans)))
        counts["conversations"] = self.copy("monitoring.conversation", (
            "id", "municipality", "plan_id", "client_id", "kind", "title", "planned_on", "status", "held_on", "note",
            "minutes", "created_by", "created_at"),
            ((_uuid(9, k), M, p[0], p[1], "progress", "Voortgang", p[2] + timedelta(days=30), "held",
              p[2] + timedelta(days=30), "", 45, CASE_MANAGER, NOW) for k, p in enumerate(plans)))
        counts["outcomes"] = self.copy("monitoring.outcome", (
            "id", "municipality", "plan_id", "client_id", "outcome", "durable", "registered_by", "registered_at",
            "found_on", "registered_on"),
            ((_uuid(10, k), M, p[0], p[1], "no_work_ended", False, CASE_MANAGER, NOW, p[2] + timedelta(days=300),
              p[2] + timedelta(days=300)) for k, p in enumerate(plans) if not p[3] and k % 10 < 7))

        def budgets() -> Iterator[tuple[Any, ...]]:
            for k, (plan_id, client_id, started_on, running, granted) in enumerate(plans):
                yield (_uuid(5, k), M, plan_id, client_id, "plan", "prb", "open" if running else "closed", granted, 0,
                       started_on + timedelta(days=365), datetime.combine(started_on, datetime.min.time(), UTC),
                       None if running else started_on + timedelta(days=300), False, "")

        counts["budgets"] = self.copy("budget.budget", (
            "id", "municipality", "plan_id", "client_id", "kind", "scheme", "status", "granted_cents",
            "execution_cost_cents", "execution_deadline", "opened_at", "closed_on", "outcome_reached",
            "thresholds_reached"), budgets())
        counts["budget lines"] = self.copy("budget.budget_line", (
            "id", "budget_id", "plan_line_id", "category", "provider_name", "holdback_percent", "status",
            "granted_cents", "available_cents", "committed_cents", "held_cents", "payable_cents", "paid_cents"),
            ((_uuid(11, k), _uuid(5, k), _uuid(6, k), "coaching", "Bench Opleidingen BV", 0, "open" if p[3] else
              "closed", p[4], p[4] // 2 if p[3] else 0, 0, 0, 0, 0 if p[3] else p[4] // 2)
             for k, p in enumerate(plans)))
        running_ks = [k for k, p in enumerate(plans) if p[3]]
        waiting = set(rnd.sample(running_ks, min(a.waiting, len(running_ks))))
        statuses = ("received", "received", "awaiting_second_approval", "review")

        def invoices() -> Iterator[tuple[Any, ...]]:
            for k, (plan_id, client_id, started_on, running, granted) in enumerate(plans):
                if k in waiting:
                    status, paid = statuses[k % 4], None
                elif not running and k % 10 == 3:
                    status, paid = "paid", started_on + timedelta(days=90)
                else:
                    continue
                amount = min(granted // 2, rnd.randrange(100_00, 1500_00, 100))
                yield (_uuid(12, k), M, _uuid(5, k), _uuid(11, k), plan_id, client_id, "provider", "json",
                       "bench-provider", "Bench Opleidingen BV", "Bench Opleidingen BV", "NL91ABNA0417164300",
                       f"BENCH-{k}", started_on + timedelta(days=60), "EUR", amount, 0, amount, 0, 0, 0,
                       hashlib.sha256(str(k).encode()).hexdigest(), status, NOW - timedelta(days=k % 20), paid)

        counts["invoices"] = self.copy("budget.invoice", (
            "id", "municipality", "budget_id", "budget_line_id", "plan_id", "client_id", "flow", "source",
            "provider_id", "provider_name", "creditor_name", "creditor_iban", "invoice_number", "issue_date",
            "currency", "amount_excl_vat_cents", "vat_cents", "amount_cents", "held_cents", "held_pay_cents",
            "credited_cents", "content_hash", "status", "received_at", "paid_on"), invoices())
        counts["waiting invoices"] = len(waiting)
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
            size = conn.execute(sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
        self.results["rows"] = counts
        log(f"generated with COPY in {time.perf_counter() - started:.0f} s (set-up, not measured): "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f"; database {size}")

    def start_system(self) -> None:
        ports = {name: _free_port() for name in ("intake", "budget", "monitoring", "notifications")}
        if self.args.port_base:
            ports = {name: self.args.port_base + i for i, name in enumerate(ports)}
        self.gateway_port = self.args.port_base + 9 if self.args.port_base else _free_port()
        gateway = f"http://127.0.0.1:{self.gateway_port}"
        self.procs.env["PRB_WEB_API_BASE_URL"] = gateway
        self.procs.env["PRB_PUBLIC_BASE_URL"] = gateway
        for name, port in ports.items():
            self.pids[f"api {name}"] = self.procs.start(name, "serve", name, "--port", str(port)).pid
        log_file = open(self.log_dir / "gateway.log", "wb")  # noqa: SIM115 - closed with the process
        gw = subprocess.Popen([sys.executable, str(REPO / "bench" / "_gateway.py"), "--port", str(self.gateway_port),
                               *[x for name, port in ports.items() for x in (f"--{name}", f"http://127.0.0.1:{port}")]],
                              cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
        self.procs.procs.append(("gateway", gw))
        self.gateway_pid = gw.pid
        for port in ports.values():
            self.procs.wait_healthy(f"http://127.0.0.1:{port}")
        self.procs.wait_healthy(gateway)
        log(f"`prb serve` intake (with the pages), budget, monitoring, notifications on {ports}; gateway on "
            f"{self.gateway_port}; logs in {self.log_dir}")

    def login(self, role: str) -> dict[str, str]:
        """The session cookie of the demo user of this role, logged in with the product's own flow."""
        import httpx

        r = httpx.post(f"http://127.0.0.1:{self.gateway_port}/login", data={"user": f"{role}|{M}|"}, timeout=60)
        if r.status_code != 303 or "prb_session" not in r.cookies:
            raise RuntimeError(f"log-in as {role} failed: {r.status_code} {r.text[:300]}")
        return {"prb_session": r.cookies["prb_session"]}

    # --- the load ------------------------------------------------------------------------------

    def path_of(self, page: str, rnd: random.Random) -> str:
        if page == "caseload":
            return "/caseload"
        if page == "client file":
            return f"/caseload/clients/{rnd.choice(self.caseload_ids)}"
        if page == "finance queue":
            return "/finance/invoices"
        return "/policy/benchmark"

    def drive(self, page: str, cookies: dict[str, str]) -> dict[str, Any]:
        import httpx

        a = self.args
        base = f"http://127.0.0.1:{self.gateway_port}"
        times: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        check = {"caseload": "caseload", "client file": "C", "finance queue": "invoice",
                 "policy dashboard": "benchmark"}[page]

        def one(http: httpx.Client, rnd: random.Random, record: bool) -> None:
            path = self.path_of(page, rnd)
            t0 = time.perf_counter()
            r = http.get(path)
            body = r.content
            dt = time.perf_counter() - t0
            with lock:
                if r.status_code != 200 or check.lower() not in body.decode(errors="replace").lower():
                    errors.append(f"{path}: {r.status_code} {body[:200]!r}")
                elif record:
                    times.append(dt)

        def worker(n: int, until: float, record: bool) -> None:
            rnd = random.Random(n)
            with httpx.Client(base_url=base, cookies=cookies, timeout=120) as http:
                while time.monotonic() < until:
                    one(http, rnd, record)

        for http_round, (seconds, record) in enumerate(((a.warmup, False), (a.seconds, True))):
            if record:
                wait_for_quiet(a.quiet_below, a.quiet_timeout, page)
                meter = CpuMeter(self.dbname, {**self.pids, "gateway (bench)": self.gateway_pid})
                meter.start()
            until = time.monotonic() + seconds
            threads = [threading.Thread(target=worker, args=(10 * http_round + n, until, record))
                       for n in range(a.users)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        cpu = meter.stop()
        n = max(1, len(times))
        per_request = {k: round(v / 100 * cpu["_wall"] / n * 1000, 1) for k, v in cpu.items()
                       if not k.startswith("_")}
        api_ms = sum(v for k, v in per_request.items() if k.startswith("api "))
        return {"latency": summary_ms(times), "errors": len(errors), "error_examples": errors[:3],
                "rps": len(times) / cpu["_wall"], "cpu_ms_per_request": per_request,
                "server_cpu_ms": round(api_ms, 1), "postgresql_cpu_ms": per_request.get("postgresql", 0.0),
                "other_load": round(other_load(cpu), 1)}

    def body(self) -> bool:
        a = self.args
        self.migrate()
        if not a.reuse_db:
            self.load()
        else:
            self.caseload_ids = [_uuid(0x10, i) for i in range(min(a.caseload, a.clients))]
        self.start_system()
        cookies = {role: self.login(role) for role in sorted(set(ROLE_OF.values()))}
        ok = True
        self.results["pages"] = {}
        for page in a.pages.split(","):
            res = self.drive(page, cookies[ROLE_OF[page]])
            self.results["pages"][page] = res
            met = res["latency"]["p95"] < TARGET_MS and res["errors"] == 0
            ok = ok and met
            log(f"{page:<17} {fmt_ms(res['latency'])}; {res['rps']:.1f} pages/s with {a.users} users; "
                f"server CPU (API processes) {res['server_cpu_ms']} ms/page, PostgreSQL {res['postgresql_cpu_ms']} "
                f"ms/page; other processes {res['other_load']} % of a core; errors {res['errors']}")
            log(f"    CPU ms per page: {res['cpu_ms_per_request']}")
            for example in res["error_examples"]:
                log(f"    error: {example}")
        log("")
        log(f"{'page':<17} {'p50':>8} {'p95':>8} {'p99':>8}   target p95 < {TARGET_MS:.0f} ms")
        for page, res in self.results["pages"].items():
            s = res["latency"]
            verdict = "met" if s["p95"] < TARGET_MS and res["errors"] == 0 else "NOT met"
            log(f"{page:<17} {s['p50']:8.1f} {s['p95']:8.1f} {s['p99']:8.1f}   {verdict}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump(self.results, f, indent=2, default=str)
        return ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trajectories", type=int, default=1_000_000)
    p.add_argument("--clients", type=int, default=10_000)
    p.add_argument("--caseload", type=int, default=100, help="clients per case manager")
    p.add_argument("--waiting", type=int, default=3000, help="invoices in finance's queue")
    p.add_argument("--users", type=int, default=4, help="concurrent clients per page")
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds per page")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--pages", default=",".join(PAGES))
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--port-base", type=int, default=0, help="ports base..base+3 for the APIs, base+9 the gateway")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="BROKER_URL of the processes")
    p.add_argument("--db-prefix", default="prb_bench_", help="name prefix of the scratch database")
    p.add_argument("--reuse-db", help="a database an earlier --keep-db run left (not loaded, not dropped)")
    add_common_args(p, log_level="WARNING")
    args = p.parse_args()
    bench = PagesBench(args)
    return run_guarded(bench, bench.body)


if __name__ == "__main__":
    raise SystemExit(main())
