"""On real PostgreSQL: finance staff registering or changing the same provider at once. One
registration of a KvK wins, the others are a 409 naming the KvK; of two changes made on the same
version one wins and the other is told the provider changed meanwhile; the history has one entry
per change that happened."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from services.budget import providers
from services.budget.models_providers import ProviderHistory, ProviderIn, ProviderPatch
from shared.auth import Principal, Role
from shared.errors import DomainError

TENANT = "0344"
THREADS = 8
IBAN = "NL91ABNA0417164300"
FINANCE = [Principal(subject=f"fin-{i}", role=Role.FINANCE, municipality=TENANT) for i in range(THREADS)]


def _race(work) -> list[str]:
    start = threading.Barrier(THREADS)

    def one(i: int) -> str:
        start.wait()
        try:
            work(i)
            return "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(THREADS) as pool:
        return sorted(pool.map(one, range(THREADS)))


def test_one_of_many_registrations_of_a_kvk_at_once_wins(race_runtime):
    runtime = race_runtime

    def register(i: int) -> None:
        with runtime.uow("budget") as uow:
            providers.register_provider(uow, FINANCE[i], ProviderIn(kvk="11112222", name=f"Coach {i}", iban=IBAN))

    assert _race(register) == ["ok"] + ["provider.kvk_taken"] * (THREADS - 1)
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM budget.provider WHERE kvk = '11112222'")).scalar() == 1


def test_of_changes_made_on_the_same_version_one_wins_and_the_rest_are_told(race_runtime):
    runtime = race_runtime
    with runtime.uow("budget") as uow:
        provider = providers.register_provider(uow, FINANCE[0], ProviderIn(kvk="33334444", name="C", iban=IBAN))

    def suspend(i: int) -> None:
        with runtime.uow("budget") as uow:
            providers.change_provider(
                uow, FINANCE[i], provider.id, ProviderPatch(version=1, status="suspended", reason=f"r{i}")
            )

    assert _race(suspend) == ["ok"] + ["provider.changed_meanwhile"] * (THREADS - 1)
    with runtime.engine.connect() as conn:
        statuses = conn.execute(
            sa.select(ProviderHistory.status).where(ProviderHistory.provider_id == provider.id)
        ).scalars().all()
    assert sorted(statuses) == ["contracted", "suspended"]
