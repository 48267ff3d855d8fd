"""`make run` loads demo data through the real handlers; it must keep working as they change."""

import sqlalchemy as sa

from eigenregie.initial_data import load_demo_data
from services.budget.models import Budget, Invoice
from services.intake.models import Client, Plan
from services.monitoring.models import ProgressReport
from services.notifications.models import Message
from shared.bus.dead_letters import list_dead_letters
from shared.config import Settings
from tests.support.runtime import migrated_runtime


def test_demo_data_loads_two_municipalities_with_plans_in_different_states(tmp_path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="dev"))
    assert load_demo_data(runtime).startswith("demo data loaded")
    with runtime.engine.connect() as conn:
        def count(model, *where):
            return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()

        assert conn.execute(sa.select(Client.municipality).distinct()).scalars().all().__len__() == 2
        assert {row for row in conn.execute(sa.select(Plan.status).distinct()).scalars()} >= {
            "draft", "submitted", "approved", "rejected"}
        assert count(Budget) >= 2 and count(Invoice, Invoice.status == "paid") == 1
        assert count(ProgressReport) == 1 and count(Message) >= 3
    assert list_dead_letters(runtime.engine) == []
    assert load_demo_data(runtime) == "demo data already present"
