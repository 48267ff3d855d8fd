"""outbox NOTIFY by trigger: inserting outbox rows wakes the relay from the database (issue 15)

Revision ID: budget_0013
Revises: budget_0012

The unit of work used to send `NOTIFY prb_outbox, 'budget'` as a statement of its own in every
transaction that wrote events; a statement-level trigger on the outbox sends it now, one round trip
less per writing transaction (shared/bus/migration_steps.py).
"""

from shared.bus.migration_steps import add_outbox_notify_trigger, drop_outbox_notify_trigger

revision = "budget_0013"
down_revision = "budget_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_notify_trigger("budget")


def downgrade() -> None:
    drop_outbox_notify_trigger("budget")
