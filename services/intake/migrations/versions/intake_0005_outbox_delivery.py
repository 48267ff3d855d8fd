"""outbox delivery tracking: delivered_at, redeliveries, next_check_at; dead letters by event id

Revision ID: intake_0005
Revises: intake_0004

Rows published before this migration are taken as delivered (delivered_at = published_at):
their consumers' inbox ids may already be pruned, so checking them again could apply an
old event twice. Unpublished rows are checked by the sweeper after the relay publishes them.
"""
from alembic import op
import sqlalchemy as sa


revision = 'intake_0005'
down_revision = 'intake_0004'
branch_labels = None
depends_on = None

SCHEMA = 'intake'


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=SCHEMA) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('redeliveries', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True))
    outbox = sa.table('outbox', sa.column('delivered_at'), sa.column('published_at'), schema=SCHEMA)
    op.execute(outbox.update().where(outbox.c.published_at.is_not(None)).values(delivered_at=outbox.c.published_at))
    with op.batch_alter_table('outbox', schema=SCHEMA) as batch_op:
        batch_op.create_index(f'ix_{SCHEMA}_outbox_undelivered', ['next_check_at'], unique=False,
                              postgresql_where=sa.text('delivered_at IS NULL'),
                              sqlite_where=sa.text('delivered_at IS NULL'))
    with op.batch_alter_table('dead_letter', schema=SCHEMA) as batch_op:
        batch_op.create_index(f'ix_{SCHEMA}_dead_letter_event_id', ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dead_letter', schema=SCHEMA) as batch_op:
        batch_op.drop_index(f'ix_{SCHEMA}_dead_letter_event_id')
    with op.batch_alter_table('outbox', schema=SCHEMA) as batch_op:
        batch_op.drop_index(f'ix_{SCHEMA}_outbox_undelivered', postgresql_where=sa.text('delivered_at IS NULL'),
                            sqlite_where=sa.text('delivered_at IS NULL'))
        batch_op.drop_column('next_check_at')
        batch_op.drop_column('redeliveries')
        batch_op.drop_column('delivered_at')
