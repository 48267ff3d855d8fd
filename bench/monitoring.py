#!/usr/bin/env python
"""Monitoring benchmark: the full benchmark report over 1,000,000 plan trajectories, and the daily overdue scan.

    .venv/bin/python bench/monitoring.py [--trajectories 1000000] [--repeat 3] [--explain] [--json out.json]

On PostgreSQL on this machine, in one run:

1. a scratch database (`prb_bench_<id>`) migrated with every service's migrations; database `test` is
   not touched;
2. generated with COPY (set-up, not measured): `--trajectories` plan trajectories over
   `--municipalities` municipalities (sizes 1/rank, so the largest holds about a fifth), started over
   eight years, with profiles, registration forms, outcome state, minutes and costs; their plan lines
   (1-4 each), orientation phases for a third of the clients, outcome rows, progress reports,
   conversations and follow-ups (A's table: two done and one open per plan, a few open ones overdue);
   then VACUUM ANALYZE, as autovacuum would have it after such a load;
3. the raw limit, measured in the same run on the same rows: a plain `SELECT count(*)` and a
   one-aggregate pass (`GROUP BY benefit`) over the trajectories each report reads;
4. the full benchmark report (every table: 4.1-4.7, costs, reference) through
   `services.monitoring.benchmark.benchmark`, the function behind `GET /monitoring/v1/benchmark`:
   the national view and the largest municipality, for the whole period and for one year; best and
   median of `--repeat` runs after a warm-up, with the time of each SQL statement;
5. the overdue scan (`services.monitoring.follow_ups.flag_overdue`, the daily job's body) twice, on
   two days with different amounts due: rows it read (its own count, and PostgreSQL's counters for
   the follow_up table) against the rows due and the rows in the table.

Target: the full report under 2 s; the scan's rows read proportional to what is due.
Exit status: 0 if the targets are met, 2 if one is missed, 1 on an error, 130 when interrupted.
Not a test: pytest does not collect bench/. Results: docs/performance.md ("The benchmark report").
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _common import ScratchBench, add_common_args, log, pg_conninfo, run_guarded, wait_for_quiet

FIRST_DAY, LAST_DAY = date(2019, 1, 1), date(2026, 11, 30)
SCAN_DAY = date(2026, 12, 1)
TARGET_SECONDS = 2.0
CHUNK = 50_000
CATEGORIES = (("coaching", 30), ("training_knowledge", 25), ("study_material", 8), ("training_skills", 8),
              ("job_mediation", 7), ("business_start_support", 3), ("driving_lessons", 4), ("computer", 6),
              ("other", 9))
OUTCOMES = (("work_during", 23), ("work_after", 4), ("work_ended", 4), ("no_work_running", 20),
            ("no_work_ended", 10), ("unknown", 9), (None, 30))  # None: no outcome yet (derived)
KINDS = ("work_experience", "secondment", "trial_placement", "permanent_job", "temporary_job", "temp_agency",
         "own_business", None)


def _weighted(rnd: random.Random, pairs: tuple[tuple[Any, int], ...], k: int) -> list[Any]:
    return rnd.choices([p[0] for p in pairs], weights=[p[1] for p in pairs], k=k)


def _uuid(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


class MonitoringBench(ScratchBench):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.rnd = random.Random(args.seed)
        self.municipalities: list[str] = []
        self.statements: list[tuple[str, float]] = []

    # --- set-up --------------------------------------------------------------------------------

    def start(self) -> None:
        import sqlalchemy as sa

        from eigenregie.bootstrap import build_runtime
        from shared.config import Settings
        from shared.db import create_db_engine
        from tests.support.runtime import migrate

        if self.args.reuse_db:  # a database kept by an earlier run (--keep-db): not loaded, not dropped
            self.dbname = self.args.reuse_db
            self.db = pg_conninfo(self.admin_url, self.dbname)
            self.engine = create_db_engine(self.db["url"], pool_size=2)
        else:
            self.create_db(self.dbname)
            self.engine = create_db_engine(self.db["url"], pool_size=2)
            migrate(build_runtime(Settings(database_url=self.db["url"], broker_url=None, environment="test"),
                                  engine_override=self.engine))

        @sa.event.listens_for(self.engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            conn.info["bench_started"] = time.perf_counter()

        @sa.event.listens_for(self.engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            self.statements.append((statement, time.perf_counter() - conn.info.pop("bench_started")))

        log(f"migrated {self.dbname} (PostgreSQL {self.server_version()})")

    def load(self) -> None:
        a, rnd = self.args, self.rnd
        started = time.perf_counter()
        self.municipalities = [f"{i:04d}" for i in range(1, a.municipalities + 1)]
        n = a.trajectories
        weights = [1 / rank for rank in range(1, len(self.municipalities) + 1)]
        days = (LAST_DAY - FIRST_DAY).days
        plans: list[tuple[str, str, str, date, str | None, str | None]] = []  # for the tables that follow
        benefits: list[str] = []  # each plan's benefit, beside `plans` (the lines carry it)

        def trajectories() -> Iterator[tuple[Any, ...]]:
            for base in range(0, n, CHUNK):
                k = min(CHUNK, n - base)
                where = rnd.choices(self.municipalities, weights=weights, k=k)
                benefit = _weighted(rnd, (("wwb", 60), ("nug", 35), ("other", 3), ("unknown", 2)), k)
                outcome = _weighted(rnd, OUTCOMES, k)
                for j in range(k):
                    i = base + j
                    started_on = FIRST_DAY + timedelta(days=rnd.randrange(days))
                    category = outcome[j]
                    closed = category in ("work_after", "work_ended", "no_work_ended", "unknown") or (
                        category is None and rnd.random() < 0.3)
                    working = category in ("work_during", "work_after", "work_ended")
                    kind_of_work = rnd.choice(KINDS) if working else None
                    granted = rnd.randrange(1000_00, 7000_00, 100)
                    recorded = rnd.random() < 0.35
                    soft = tuple(rnd.choice(("more", "same", "less")) if recorded else None for _ in range(6))
                    provisions = rnd.random() < 0.4
                    kinds = tuple(provisions and rnd.random() < 0.15 for _ in range(5))
                    plans.append((_uuid(1, i), where[j], _uuid(2, i), started_on, category, kind_of_work))
                    benefits.append(benefit[j])
                    yield (
                        _uuid(1, i), "plan", where[j], _uuid(2, i), "prb", _uuid(3, i), granted,
                        rnd.randrange(0, granted + 1, 100), started_on, started_on + timedelta(days=365),
                        None, False, "closed" if closed else "running", started_on + timedelta(days=300) if closed
                        else None, None, benefit[j], rnd.choice(("female", "male", "female", "male", "unknown")),
                        rnd.choice(("under_35", "35_44", "45_plus", "unknown")),
                        "none" if benefit[j] == "nug" else rnd.choice(("under_1y", "1_3y", "over_3y", "unknown")),
                        rnd.choice(("low", "middle", "high", "unknown")), *soft, provisions, *kinds,
                        rnd.choice(("more", "average", "less")) if rnd.random() < 0.4 else None, category,
                        kind_of_work, started_on + timedelta(days=60) if working else None,
                        working and rnd.random() < 0.4, rnd.randrange(0, 3000), 500_00 if rnd.random() < 0.2 else 0)

        t_columns = ("plan_id", "kind", "municipality", "client_id", "scheme", "budget_id", "granted_cents",
                     "spent_cents", "started_on", "execution_deadline", "last_report_at", "report_overdue", "status",
                     "closed_on", "close_reason", "benefit", "gender", "age_band", "benefit_duration", "education",
                     "motivation", "self_reliance", "self_awareness", "initiative", "social_skills",
                     "realistic_self_image", "provisions_recorded", "debt_counselling", "special_assistance",
                     "childcare", "victim_support", "health_provisions", "contact_hours", "outcome_category",
                     "kind_of_work", "outflow_on", "durable", "case_minutes", "external_cost_cents")
        counts = {"plan trajectories": self.copy("monitoring.trajectory", t_columns, trajectories())}

        def orientations() -> Iterator[tuple[Any, ...]]:
            for i, (_plan, where, client, started_on, _c, _k) in enumerate(plans):
                if i % 3 == 0:
                    day = started_on - timedelta(days=60)
                    yield (_uuid(4, i), "orientation", where, client, "prb", None, 0, rnd.randrange(0, 500_00, 100),
                           day, day + timedelta(days=90), False, "closed", day + timedelta(days=60), "unknown",
                           rnd.randrange(0, 900))

        o_columns = ("plan_id", "kind", "municipality", "client_id", "scheme", "budget_id", "granted_cents",
                     "spent_cents", "started_on", "execution_deadline", "report_overdue", "status", "closed_on",
                     "benefit", "case_minutes")
        counts["orientation phases"] = self.copy("monitoring.trajectory", o_columns, orientations())

        def lines() -> Iterator[tuple[Any, ...]]:
            number = 0
            for (plan_id, where, _client, started_on, *_), benefit in zip(plans, benefits, strict=True):
                # One line per category (the facts a handler keeps: start, scheme, benefit, first of its category).
                for category in set(_weighted(rnd, CATEGORIES, rnd.randint(1, 4))):
                    number += 1
                    yield (_uuid(5, number), plan_id, where, category, rnd.randrange(100_00, 3000_00, 100), None,
                           "Bench Opleidingen BV", started_on, "prb", benefit, True)

        counts["plan lines"] = self.copy("monitoring.trajectory_line", ("plan_line_id", "plan_id", "municipality",
                                         "category", "granted_cents", "provider_kvk", "provider_name", "started_on",
                                         "scheme", "benefit", "first_of_category"), lines())
        at = datetime(2026, 6, 1, 12, tzinfo=UTC)

        def outcomes() -> Iterator[tuple[Any, ...]]:
            for i, (plan_id, where, client, started_on, category, kind) in enumerate(plans):
                if category is not None:
                    on = started_on + timedelta(days=60)
                    yield (_uuid(6, i), where, plan_id, client, category, kind, on if kind else None, None, False,
                           "bench", at, on, on)

        counts["outcomes"] = self.copy("monitoring.outcome", ("id", "municipality", "plan_id", "client_id", "outcome",
                                       "kind_of_work", "working_since", "hours_per_week", "durable", "registered_by",
                                       "registered_at", "found_on", "registered_on"), outcomes())
        counts["progress reports"] = self.copy(
            "monitoring.progress_report", ("id", "municipality", "plan_id", "client_id", "reported_by",
                                           "reported_by_role", "on_track", "summary", "created_at"),
            ((_uuid(7, i), w, p, c, "bench", "case_manager", True, "Gaat goed", at)
             for i, (p, w, c, *_r) in enumerate(plans)))
        counts["conversations"] = self.copy(
            "monitoring.conversation", ("id", "municipality", "plan_id", "client_id", "kind", "title", "planned_on",
                                        "status", "held_on", "note", "minutes", "created_by", "created_at"),
            ((_uuid(8, i), w, p, c, "progress", "Voortgang", s + timedelta(days=30), "held", s + timedelta(days=30),
              "", 45, "bench", at) for i, (p, w, c, s, *_r) in enumerate(plans)))

        def follow_ups() -> Iterator[tuple[Any, ...]]:
            per_mille = a.due_per_mille
            for i, (plan_id, where, client, started_on, *_r) in enumerate(plans):
                for k in (0, 1):  # two reports done
                    due = started_on + timedelta(days=60 * (k + 1))
                    yield (_uuid(9, 3 * i + k), where, plan_id, client, "progress_report", None, "", due, "done",
                           due, None)
                if i % 1000 < per_mille:  # open and overdue on SCAN_DAY
                    due = SCAN_DAY - timedelta(days=1 + i % 30)
                else:  # open, due within the coming year
                    due = SCAN_DAY + timedelta(days=i % 365)
                yield (_uuid(9, 3 * i + 2), where, plan_id, client, "progress_report", None, "", due, "open", None,
                       None)

        counts["follow-ups"] = self.copy("monitoring.follow_up", ("id", "municipality", "plan_id", "client_id", "kind",
                                         "ref_id", "title", "due_on", "status", "done_on", "overdue_flagged_at"),
                                         follow_ups())
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
            size = conn.execute(sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
        self.results["rows"] = counts
        log(f"generated with COPY in {time.perf_counter() - started:.0f} s (set-up, not measured): "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f"; database {size}")
        self.plans_count = len(plans)
        plans.clear()

    # --- measurements -------------------------------------------------------------------------

    def timed(self, run: Callable[[], Any]) -> dict[str, Any]:
        """Best and median of --repeat runs after one warm-up, with the statements of the best run."""
        run()
        times, best_statements = [], []
        for _ in range(self.args.repeat):
            self.statements = []
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
            if times[-1] == min(times):
                best_statements = list(self.statements)
        return {"best": min(times), "median": statistics.median(times), "runs": [round(t, 3) for t in times],
                "statements": [(s.split()[0] + " " + _what(s), round(d, 3)) for s, d in best_statements]}

    def raw_limit(self, municipality: str, first: date, last: date) -> dict[str, Any]:
        import sqlalchemy as sa

        where = "kind = 'plan' AND scheme = 'prb' AND started_on BETWEEN :first AND :last"
        params: dict[str, Any] = {"first": first, "last": last}
        if municipality != "all":
            where += " AND municipality = :m"
            params["m"] = municipality
        out: dict[str, Any] = {}
        for name, sql in (("count", f"SELECT count(*) FROM monitoring.trajectory WHERE {where}"),
                          ("one_aggregate_pass", "SELECT benefit, count(*), sum(granted_cents) FROM "
                                                 f"monitoring.trajectory WHERE {where} GROUP BY benefit")):
            with self.engine.connect() as conn:
                def run(conn: Any = conn, sql: str = sql) -> Any:
                    return conn.execute(sa.text(sql), params).all()
                rows = run()
                out[name] = self.timed(run)
                out[name].pop("statements")
                if name == "count":
                    out["rows"] = rows[0][0]
        return out

    def report(self, municipality: str, first: date, last: date) -> dict[str, Any]:
        from sqlmodel import Session

        from services.monitoring import benchmark
        from shared.auth import Principal, Role

        who = Principal(subject="bench-policy", role=Role.POLICY, municipality=self.municipalities[0])
        query = benchmark.Query(municipality=municipality, period_from=first, period_to=last, scheme="prb")
        now = datetime.now(UTC)

        def run() -> Any:
            with Session(self.engine) as session:
                return benchmark.benchmark(session, who, query, language="nl", now=now)

        answer = run()
        result = self.timed(run)
        result["suppressed_cells"] = answer.suppressed_cells
        if self.args.explain:
            result["explain"] = self.explain(query)
        return result

    def explain(self, query: Any) -> list[str]:
        import sqlalchemy as sa
        from sqlalchemy.dialects import postgresql

        from services.monitoring import benchmark_sql as q

        measures = q._measures()
        part = q._part().label("part")
        main = sa.select(part, q.T.c.municipality, *(m.label(f"m{i}") for i, m in enumerate(measures.values()))
                         ).where(*q._in_period(query)).group_by(part, q.T.c.municipality)
        sql = str(main.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]

    def scan(self, day: date) -> dict[str, Any]:
        import sqlalchemy as sa

        from eigenregie.bootstrap import build_runtime
        from services.monitoring import follow_ups
        from shared.clock import FrozenClock
        from shared.config import Settings
        from shared.db import create_db_engine

        due_sql = ("SELECT count(*) FROM monitoring.follow_up WHERE status = 'open' AND overdue_flagged_at IS NULL "
                   "AND due_on < :day")
        with self.engine.connect() as conn:
            due = conn.execute(sa.text(due_sql), {"day": day}).scalar_one()
            total = conn.execute(sa.text("SELECT count(*) FROM monitoring.follow_up")).scalar_one()
            raw = {"count_due": self.timed(lambda: conn.execute(sa.text(due_sql), {"day": day}).all())["best"],
                   "count_all": self.timed(lambda: conn.execute(sa.text(
                       "SELECT count(*) FROM monitoring.follow_up")).all())["best"]}
            plan = [r[0] for r in conn.execute(sa.text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM monitoring.follow_up WHERE status = 'open' AND "
                "overdue_flagged_at IS NULL AND due_on < :day ORDER BY due_on, id LIMIT 500"), {"day": day})]
        self.engine.dispose()  # the backends that ran the counts above exit and flush their counters
        time.sleep(1.0)
        before = self.table_counters()
        self.engine.dispose()
        time.sleep(0.5)
        engine = create_db_engine(self.db["url"], pool_size=1)  # its own backend: its counters flush on close
        runtime = build_runtime(Settings(database_url=self.db["url"], broker_url=None, environment="test"),
                                engine_override=engine, clock=FrozenClock.on(day))
        wait_for_quiet(self.args.quiet_below, self.args.quiet_timeout, "the overdue scan")
        started = time.perf_counter()
        with runtime.uow("monitoring") as uow:
            result = follow_ups.flag_overdue(uow)
        seconds = time.perf_counter() - started
        engine.dispose()  # the scan's backend exits: its counters are flushed
        time.sleep(1.0)
        after = self.table_counters()
        delta = {k: after[k] - before[k] for k in after}
        return {"day": day.isoformat(), "due": due, "follow_ups_in_table": total, "seconds": seconds,
                "flagged": result.flagged, "rows_read": result.rows_read, "follow_ups_read": result.follow_ups_read,
                "trajectories_locked": result.trajectories_locked, "pg_stat_follow_up": delta, "raw": raw,
                "plan_first_batch": plan}

    def table_counters(self, relname: str = "follow_up") -> dict[str, int]:
        """PostgreSQL's counters of one of monitoring's tables (bench/reminders.py reads trajectory's too)."""
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            row = conn.execute(sa.text(
                "SELECT seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_upd FROM pg_stat_user_tables "
                "WHERE schemaname = 'monitoring' AND relname = :relname"), {"relname": relname}).one()
        return {"seq_scan": row[0], "seq_tup_read": row[1], "idx_scan": row[2], "idx_tup_fetch": row[3],
                "updated": row[4]}

    # --- the run -------------------------------------------------------------------------------

    def body(self) -> bool:
        a = self.args
        self.start()
        if a.reuse_db:
            self.municipalities = [f"{i:04d}" for i in range(1, a.municipalities + 1)]
        else:
            self.load()
        largest = self.municipalities[0]
        cases = [("national, 2019-2026", "all", FIRST_DAY, LAST_DAY), (f"{largest}, 2019-2026", largest, FIRST_DAY,
                  LAST_DAY), ("national, 2025", "all", date(2025, 1, 1), date(2025, 12, 31)),
                 (f"{largest}, 2025", largest, date(2025, 1, 1), date(2025, 12, 31))]
        ok = True
        self.results["reports"] = {}
        for name, municipality, first, last in cases:
            wait_for_quiet(a.quiet_below, a.quiet_timeout, f"the report {name}")
            raw = self.raw_limit(municipality, first, last)
            rep = self.report(municipality, first, last)
            rep["raw"] = raw
            self.results["reports"][name] = rep
            met = rep["best"] < TARGET_SECONDS
            ok = ok and met
            log(f"report {name}: {raw['rows']:,} trajectories; full report best {rep['best']:.3f} s, median "
                f"{rep['median']:.3f} s (target < {TARGET_SECONDS} s: {'met' if met else 'NOT met'}); raw limit: "
                f"count(*) {raw['count']['best']:.3f} s, one-aggregate pass {raw['one_aggregate_pass']['best']:.3f} s; "
                f"{rep['suppressed_cells']} cells suppressed")
            for statement, seconds in rep["statements"]:
                log(f"    {seconds:7.3f} s  {statement}")
            for line in rep.get("explain", []):
                log(f"    | {line}")
        self.results["scans"] = []
        for day in (SCAN_DAY, SCAN_DAY + timedelta(days=7)):
            s = self.scan(day)
            self.results["scans"].append(s)
            per_due = s["rows_read"] / max(1, s["due"])
            pg = s["pg_stat_follow_up"]
            pg_per_due = (pg["idx_tup_fetch"] + pg["seq_tup_read"]) / max(1, s["due"])
            s["pg_rows_per_due"] = pg_per_due
            log(f"overdue scan on {s['day']}: {s['due']:,} due of {s['follow_ups_in_table']:,} follow-ups; "
                f"flagged {s['flagged']:,} in {s['seconds']:.2f} s; rows read {s['rows_read']:,} "
                f"({s['follow_ups_read']:,} follow-ups, {s['trajectories_locked']:,} trajectories locked) = "
                f"{per_due:.2f} per due item; PostgreSQL's counters for follow_up: {pg} = "
                f"{pg_per_due:.1f} follow-up rows fetched per due item; "
                f"raw: count of what is due {s['raw']['count_due']:.3f} s, count(*) of the table "
                f"{s['raw']['count_all']:.3f} s")
            for line in s["plan_first_batch"]:
                log(f"    | {line}")
        ratios = [s["pg_rows_per_due"] for s in self.results["scans"] if s["due"]]
        # Proportional to what is due: the rows read per due item do not grow from one scan to the next.
        proportional = bool(ratios) and max(ratios) <= 2 * min(ratios) and all(
            s["pg_stat_follow_up"]["seq_tup_read"] == 0 for s in self.results["scans"])
        self.results["scan_proportional"] = proportional
        log(f"overdue scan: rows read per due item {', '.join(f'{r:.1f}' for r in ratios)} "
            f"(target: proportional to what is due: {'met' if proportional else 'NOT met'})")
        ok = ok and proportional
        if a.json:
            with open(a.json, "w") as f:
                json.dump(self.results, f, indent=2, default=str)
        return ok


def _what(statement: str) -> str:
    """A short name for a statement of the report, for the timing lines."""
    s = " ".join(statement.split())
    if "trajectory_line" in s:
        return "... lines per category (Table 4.4)"
    if " AS o " in s:
        return "... orientation phases (execution cost)"
    if "benchmark_settings" in s:
        return "... the municipality's settings"
    if "work_mem" in s:
        return "... work_mem for the report's transaction"
    if "FILTER" in s:
        return "... one pass: Tables 4.1-4.3, 4.5-4.7 and the sums"
    return s[:80]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trajectories", type=int, default=1_000_000)
    p.add_argument("--municipalities", type=int, default=100)
    p.add_argument("--due-per-mille", type=int, default=5, help="open follow-ups already overdue on the scan day")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the main statement")
    p.add_argument("--reuse-db", help="measure on a database an earlier --keep-db run left (no load, not dropped; "
                   "its follow-ups flagged by that run's scans stay flagged)")
    add_common_args(p, log_level="WARNING")
    args = p.parse_args()
    bench = MonitoringBench(args)
    return run_guarded(bench, bench.body)


if __name__ == "__main__":
    raise SystemExit(main())
