"""client: the BSN encrypted at rest (bsn_encrypted, a Fernet token) and found by its keyed hash
(bsn_hash, unique per municipality instead of the plain bsn); e-mail, phone and address encrypted
in place. Existing rows are converted with the keys the app uses (shared.field_crypto, from
PRB_DATA_KEYS and PRB_BSN_HASH_KEY); the plain bsn column goes.

Revision ID: intake_0008
Revises: intake_0007
Create Date: 2026-12-03 09:10:00
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from shared.field_crypto import current

revision = "intake_0008"
down_revision = "intake_0007"
branch_labels = None
depends_on = None

S = "intake"
BATCH = 1000
CONTACT = (("email", 254), ("phone", 40), ("address", 300))


def _client(*columns: str) -> sa.Table:
    """The client table as this migration sees it: plain text columns, no type that encrypts."""
    return sa.Table(
        "client", sa.MetaData(), sa.Column("id", sa.String(36)), *(sa.Column(c, sa.Text) for c in columns), schema=S
    )


def _convert(read: tuple[str, ...], change: Callable[[sa.Row], dict[str, str | None]]) -> None:
    """Every client row, a batch at a time by id: `change` gives the new values of a row."""
    connection = op.get_bind()
    table = _client(*read, *(c for c in ("bsn_encrypted", "bsn_hash", "bsn") if c not in read))
    last = ""
    while True:
        rows = connection.execute(
            sa.select(*(table.c[c] for c in ("id", *read))).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        changes = [change(row) for row in rows]
        names = list(changes[0])
        # Bound as new_<column>: a bind parameter may not carry the name of a column it sets.
        connection.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({n: sa.bindparam(f"new_{n}") for n in names}),
            [{"row_id": row.id, **{f"new_{n}": v for n, v in c.items()}} for row, c in zip(rows, changes, strict=True)],
        )
        last = rows[-1].id


def _or_none(value: str | None, work: Callable[[str], str]) -> str | None:
    return None if value is None else work(value)


def upgrade() -> None:
    keys = current()
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.add_column(sa.Column("bsn_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("bsn_hash", sa.String(length=64), nullable=True))
        for name, length in CONTACT:
            batch_op.alter_column(name, existing_type=sa.String(length=length), type_=sa.Text(), existing_nullable=True)

    def encrypt(row: sa.Row) -> dict[str, str | None]:
        return {
            "bsn_encrypted": keys.encrypt(row.bsn),
            "bsn_hash": keys.keyed_hash(row.bsn),
            **{name: _or_none(getattr(row, name), keys.encrypt) for name, _ in CONTACT},
        }

    _convert(("bsn", "email", "phone", "address"), encrypt)
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.drop_constraint("uq_client_bsn", type_="unique")
        batch_op.drop_column("bsn")
        batch_op.alter_column("bsn_encrypted", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("bsn_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_client_bsn_hash", ["municipality", "bsn_hash"])


def downgrade() -> None:
    keys = current()
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.add_column(sa.Column("bsn", sa.String(length=9), nullable=True))

    def decrypt(row: sa.Row) -> dict[str, str | None]:
        return {
            "bsn": keys.decrypt(row.bsn_encrypted),
            **{name: _or_none(getattr(row, name), keys.decrypt) for name, _ in CONTACT},
        }

    _convert(("bsn_encrypted", "email", "phone", "address"), decrypt)
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.drop_constraint("uq_client_bsn_hash", type_="unique")
        batch_op.drop_column("bsn_hash")
        batch_op.drop_column("bsn_encrypted")
        batch_op.alter_column("bsn", existing_type=sa.String(length=9), nullable=False)
        batch_op.create_unique_constraint("uq_client_bsn", ["municipality", "bsn"])
        for name, length in CONTACT:
            batch_op.alter_column(name, existing_type=sa.Text(), type_=sa.String(length=length), existing_nullable=True)
