"""outbox NOTIFY by trigger: inserting outbox rows wakes the relay from the database (issue 15)

Revision ID: intake_0016
Revises: intake_0015

The unit of work used to send `NOTIFY prb_outbox, 'intake'` as a statement of its own in every
transaction that wrote events; a statement-level trigger on the outbox sends it now, one round trip
less per writing transaction (shared/bus/migration_steps.py).
"""

from shared.bus.migration_steps import add_outbox_notify_trigger, drop_outbox_notify_trigger

revision = "intake_0016"
down_revision = "intake_0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_notify_trigger("intake")


def downgrade() -> None:
    drop_outbox_notify_trigger("intake")
