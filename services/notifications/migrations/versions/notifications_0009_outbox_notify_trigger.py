"""outbox NOTIFY by trigger: inserting outbox rows wakes the relay from the database (issue 15)

Revision ID: notifications_0009
Revises: notifications_0008

The unit of work used to send `NOTIFY prb_outbox, 'notifications'` as a statement of its own in every
transaction that wrote events; a statement-level trigger on the outbox sends it now, one round trip
less per writing transaction (shared/bus/migration_steps.py).
"""

from shared.bus.migration_steps import add_outbox_notify_trigger, drop_outbox_notify_trigger

revision = "notifications_0009"
down_revision = "notifications_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_notify_trigger("notifications")


def downgrade() -> None:
    drop_outbox_notify_trigger("notifications")
