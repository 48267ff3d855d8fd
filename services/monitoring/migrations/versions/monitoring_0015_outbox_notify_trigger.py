"""outbox NOTIFY by trigger: inserting outbox rows wakes the relay from the database (issue 15)

Revision ID: monitoring_0015
Revises: monitoring_0014

The unit of work used to send `NOTIFY prb_outbox, 'monitoring'` as a statement of its own in every
transaction that wrote events; a statement-level trigger on the outbox sends it now, one round trip
less per writing transaction (shared/bus/migration_steps.py).
"""

from shared.bus.migration_steps import add_outbox_notify_trigger, drop_outbox_notify_trigger

revision = "monitoring_0015"
down_revision = "monitoring_0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_notify_trigger("monitoring")


def downgrade() -> None:
    drop_outbox_notify_trigger("monitoring")
