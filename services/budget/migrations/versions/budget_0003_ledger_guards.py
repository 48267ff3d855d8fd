"""ledger guards: the database refuses an overdraft and derives the cached line totals

Revision ID: budget_0003
Revises: budget_0002

- Every money column becomes 64-bit (a grant above about EUR 21 million no longer overflows).
- The cached totals on a budget line are recomputed from the ledger, and from now on a trigger
  applies each inserted ledger entry to them in the same statement. With the CHECK constraints
  on budget_line, no code path (even one that forgets the row lock) can take an account below
  zero: the insert fails and the whole transaction with it.
- Ledger entries cannot be updated or deleted: corrections are new entries.
"""

import sqlalchemy as sa
from alembic import op

revision = "budget_0003"
down_revision = "budget_0002"
branch_labels = None
depends_on = None

MONEY_COLUMNS = {
    "budget": ["granted_cents", "execution_cost_cents"],
    "budget_line": ["granted_cents", "available_cents", "committed_cents", "held_cents", "payable_cents", "paid_cents"],
    "ledger_entry": ["amount_cents"],
    "order": ["amount_cents", "used_cents"],
    "periodic_payment": ["monthly_cents"],
    "invoice": ["amount_excl_vat_cents", "vat_cents", "amount_cents", "held_cents", "held_pay_cents", "credited_cents"],
    "credit_note": ["amount_cents"],
    "payment_run": ["total_cents"],
    "payment_item": ["amount_cents", "ledger_cents"],
}

# account -> (cached column, sign): funding goes negative as money is granted; granted_cents is its negation.
ACCOUNT_COLUMNS = {
    "funding": ("granted_cents", -1),
    "available": ("available_cents", 1),
    "committed": ("committed_cents", 1),
    "held": ("held_cents", 1),
    "payable": ("payable_cents", 1),
    "paid": ("paid_cents", 1),
}


def _set_clause(entry: str) -> str:
    return ", ".join(
        f"{column} = {column} {'+' if sign > 0 else '-'} CASE WHEN {entry}.account = '{account}' "
        f"THEN {entry}.amount_cents ELSE 0 END"
        for account, (column, sign) in ACCOUNT_COLUMNS.items()
    )


def _recompute() -> str:
    sums = ", ".join(
        f"{column} = {'-' if sign < 0 else ''}COALESCE((SELECT SUM(e.amount_cents) FROM budget.ledger_entry e "
        f"WHERE e.budget_line_id = budget_line.id AND e.account = '{account}'), 0)"
        for account, (column, sign) in ACCOUNT_COLUMNS.items()
    )
    return f"UPDATE budget.budget_line SET {sums}"


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:  # SQLite's INTEGER is 64-bit already
        for table, columns in MONEY_COLUMNS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.BigInteger(), existing_nullable=False, schema="budget")

    op.execute(_recompute())
    with op.batch_alter_table("budget_line", schema="budget") as batch_op:
        batch_op.create_check_constraint("ck_budget_line_paid_not_negative", "paid_cents >= 0")
        batch_op.create_check_constraint("ck_budget_line_granted_not_negative", "granted_cents >= 0")

    if postgres:
        op.execute(f"""
            CREATE FUNCTION budget.apply_ledger_entry() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE budget.budget_line SET {_set_clause("NEW")} WHERE id = NEW.budget_line_id;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'ledger entry for unknown budget line %', NEW.budget_line_id
                        USING ERRCODE = 'foreign_key_violation';
                END IF;
                RETURN NULL;
            END $$""")
        op.execute("""
            CREATE TRIGGER ledger_entry_applies AFTER INSERT ON budget.ledger_entry
            FOR EACH ROW EXECUTE FUNCTION budget.apply_ledger_entry()""")
        op.execute("""
            CREATE FUNCTION budget.refuse_ledger_edit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'ledger entries are never edited or deleted; book a correction'
                    USING ERRCODE = 'restrict_violation';
            END $$""")
        op.execute("""
            CREATE TRIGGER ledger_entry_is_append_only BEFORE UPDATE OR DELETE ON budget.ledger_entry
            FOR EACH ROW EXECUTE FUNCTION budget.refuse_ledger_edit()""")
    else:
        # SQLite: a trigger lives in the schema (attached file) of its table; its body names
        # tables of that schema unqualified.
        op.execute(f"""
            CREATE TRIGGER budget.ledger_entry_applies AFTER INSERT ON ledger_entry
            BEGIN
                SELECT RAISE(ABORT, 'ledger entry for unknown budget line')
                    WHERE NOT EXISTS (SELECT 1 FROM budget_line WHERE id = NEW.budget_line_id);
                UPDATE budget_line SET {_set_clause("NEW")} WHERE id = NEW.budget_line_id;
            END""")
        op.execute("""
            CREATE TRIGGER budget.ledger_entry_no_update BEFORE UPDATE ON ledger_entry
            BEGIN SELECT RAISE(ABORT, 'ledger entries are never edited or deleted; book a correction'); END""")
        op.execute("""
            CREATE TRIGGER budget.ledger_entry_no_delete BEFORE DELETE ON ledger_entry
            BEGIN SELECT RAISE(ABORT, 'ledger entries are never edited or deleted; book a correction'); END""")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_is_append_only ON budget.ledger_entry")
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_applies ON budget.ledger_entry")
        op.execute("DROP FUNCTION IF EXISTS budget.refuse_ledger_edit()")
        op.execute("DROP FUNCTION IF EXISTS budget.apply_ledger_entry()")
    else:
        for trigger in ("ledger_entry_applies", "ledger_entry_no_update", "ledger_entry_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS budget.{trigger}")
    with op.batch_alter_table("budget_line", schema="budget") as batch_op:
        batch_op.drop_constraint("ck_budget_line_granted_not_negative", type_="check")
        batch_op.drop_constraint("ck_budget_line_paid_not_negative", type_="check")
    if bind.dialect.name == "postgresql":
        for table, columns in MONEY_COLUMNS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.Integer(), existing_nullable=False, schema="budget")
