"""Key rotation for intake's fields encrypted at rest (`prb keys rotate-data`).

Every client row's tokens (models.CLIENT_ENCRYPTED_COLUMNS), every hand-over row's
(models_handovers.HANDOVER_ENCRYPTED_COLUMNS: the BSN a partner sent, the trajectory so far), then
the plans' and their versions' (models.OTHER_ENCRYPTED_COLUMNS, `rotate_other_keys`), are encrypted
again under the first
data key (MultiFernet.rotate), a batch of rows per transaction, the rows locked while they are
rewritten (FOR UPDATE on PostgreSQL; SQLite's write lock), so a change made meanwhile is not
overwritten. A token already under the first key is left as it is, so a second run writes
nothing. The BSN's keyed hash is computed again from the BSN, so a new PRB_BSN_HASH_KEY takes
effect too (with the services stopped: until then lookups by BSN miss the rows not yet done).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.intake.models import CLIENT_ENCRYPTED_COLUMNS, OTHER_ENCRYPTED_COLUMNS, SCHEMA
from services.intake.models_handovers import HANDOVER_ENCRYPTED_COLUMNS
from shared.field_crypto import FieldCrypto

# The table with untyped columns: the tokens as stored, not decrypted on the way out.
_CLIENT = sa.table(
    "client", sa.column("id"), sa.column("bsn_hash"), *map(sa.column, CLIENT_ENCRYPTED_COLUMNS), schema=SCHEMA
)
_HANDOVER = sa.table(
    "handover", sa.column("id"), sa.column("bsn_hash"), *map(sa.column, HANDOVER_ENCRYPTED_COLUMNS), schema=SCHEMA
)


@dataclass(frozen=True)
class Rotation:
    rows: int = 0  # client rows read
    rewritten: int = 0  # of which at least one token or the hash was written again
    tokens: int = 0  # tokens encrypted again under the first key
    rehashed: int = 0  # BSN hashes computed again under the current hash key
    table: str = "intake.client"

    def __str__(self) -> str:
        return (
            f"{self.table}: {self.rows} rows, {self.rewritten} rewritten ({self.tokens} fields encrypted "
            f"again under the first key of PRB_DATA_KEYS, {self.rehashed} BSN hashes under PRB_BSN_HASH_KEY)"
        )


def rotate_client_keys(engine: Engine, keys: FieldCrypto, batch_size: int = 500) -> Rotation:
    """Every client row under the first data key and the current hash key; how many rows it took."""
    return _rotate(engine, keys, _CLIENT, CLIENT_ENCRYPTED_COLUMNS, "intake.client", batch_size)


def rotate_handover_keys(engine: Engine, keys: FieldCrypto, batch_size: int = 500) -> Rotation:
    """Every hand-over row the same way (a hand-over to a partner holds no BSN of its own)."""
    return _rotate(engine, keys, _HANDOVER, HANDOVER_ENCRYPTED_COLUMNS, "intake.handover", batch_size)


def _rotate(
    engine: Engine, keys: FieldCrypto, table: sa.TableClause, columns: tuple[str, ...], name: str, batch_size: int
) -> Rotation:
    rows = rewritten = tokens = rehashed = 0
    last = ""
    while True:
        with engine.begin() as conn:
            batch = conn.execute(
                sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(batch_size).with_for_update()
            ).all()
            if not batch:
                return Rotation(rows, rewritten, tokens, rehashed, name)
            by_columns: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
            for row in batch:
                changes: dict[str, str] = {}
                for column in columns:
                    token = getattr(row, column)
                    if token is not None and not keys.is_current(token):
                        changes[column] = keys.rotate(token)
                tokens += len(changes)
                with_bsn = "bsn_hash" in table.c and row.bsn_encrypted is not None
                bsn_hash = keys.keyed_hash(keys.decrypt(row.bsn_encrypted)) if with_bsn else None
                if bsn_hash is not None and bsn_hash != row.bsn_hash:
                    changes["bsn_hash"] = bsn_hash
                    rehashed += 1
                if changes:
                    by_columns[tuple(changes)].append({"row_id": row.id, **{f"new_{k}": v for k, v in changes.items()}})
                    rewritten += 1
            for changed, updates in by_columns.items():  # one executemany per set of columns changed
                statement = sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                conn.execute(statement.values({c: sa.bindparam(f"new_{c}") for c in changed}), updates)
            rows += len(batch)
            last = batch[-1].id


@dataclass(frozen=True)
class TableRotation:
    table: str
    rows: int = 0
    rewritten: int = 0

    def __str__(self) -> str:
        return f"intake.{self.table}: {self.rows} rows, {self.rewritten} rewritten"


def rotate_other_keys(engine: Engine, keys: FieldCrypto, batch_size: int = 500) -> list[TableRotation]:
    """The tokens of intake's other tables (the plans' content) under the first data key, as for the clients."""
    done: list[TableRotation] = []
    for name, columns in OTHER_ENCRYPTED_COLUMNS.items():
        table = sa.table(name, sa.column("id"), *map(sa.column, columns), schema=SCHEMA)
        rotated = _rotate(engine, keys, table, tuple(columns), f"intake.{name}", batch_size)
        done.append(TableRotation(name, rotated.rows, rotated.rewritten))
    return done
