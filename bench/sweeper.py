#!/usr/bin/env python
"""What the delivery sweeper costs the relay: CPU per checked event.

    .venv/bin/python bench/sweeper.py [--events 5000]

Creates a scratch database, commits N ProgressReported events (monitoring -> notifications),
publishes them to a publisher that drops them, records them all in notifications' inbox, and
times one `OutboxRelay.sweep_once` as if `redeliver_after` had passed. Results: docs/reliability.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.events import ProgressReportedV1  # noqa: E402
from shared.bus.relay import OutboxRelay  # noqa: E402
from shared.bus.tables import bus_tables  # noqa: E402
from shared.config import Settings  # noqa: E402
from tests.support.runtime import migrated_runtime  # noqa: E402

ADMIN_URL = os.environ.get("PRB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Dropping:
    def publish(self, service, event_type, envelope_json): ...

    def publish_batch(self, service, items): ...


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    n = parser.parse_args().events
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"prb_bench_sweep_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        runtime = migrated_runtime(Settings(database_url=url, environment="test"))
        with runtime.uow("monitoring") as uow:
            for _ in range(n):
                uow.emit(payload=ProgressReportedV1(report_id=str(uuid.uuid4()), plan_id="p", client_id="c",
                                                    reported_by_role="case_manager", on_track=True),
                         tenant="0014", subject="p")
            uow.commit()
        relay = OutboxRelay(runtime.engine, ["monitoring"], Dropping(), batch_size=n)
        relay.run_once()
        with runtime.engine.begin() as conn:
            ids = conn.execute(sa.select(bus_tables("monitoring").outbox.c.event_id)).scalars().all()
            conn.execute(sa.insert(bus_tables("notifications").inbox), [
                {"event_id": i, "event_type": "ProgressReported", "handled_at": datetime.now(timezone.utc)}
                for i in ids])
        cpu, wall = time.process_time(), time.perf_counter()
        result = relay.sweep_once(datetime.now(timezone.utc) + timedelta(seconds=61))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{result}: {1000 * cpu / n:.3f} ms relay CPU per event, {wall:.2f} s wall for {n} events")
        runtime.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
