"""Tables owned by the budget service (schema "budget"), and its API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import StringConstraints
from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Integer, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from services.budget.domain.invoice import CreditKind, HoldbackStatus, InvoiceStatus
from services.budget.domain.payment_run import PaymentRunStatus
from services.budget.domain.states import BudgetKind, BudgetStatus, LineStatus, OrderStatus
from services.budget.models_invoices_in import InvoiceIn as InvoiceIn  # re-exported: importers keep using models
from shared.clock import SYSTEM_CLOCK
from shared.identifiers import IBANStr, KvK
from shared.money import EuroAmount
from shared.text import FreeText, Line

SCHEMA = "budget"


def _uuid() -> str:
    return str(uuid.uuid4())


# Status columns hold the values of domain/'s enums. Timestamps come from the unit of work's
# clock (the commands set them), except the idempotency record's (shared.idempotency writes it).


class FinancePolicyRecord(SQLModel, table=True):
    __tablename__ = "finance_policy"
    __table_args__ = {"schema": SCHEMA}

    municipality: str = Field(primary_key=True, max_length=4)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=80)
    updated_at: datetime


class Budget(SQLModel, table=True):
    __tablename__ = "budget"
    # The list's order (GET /budgets, oldest first): a page without sorting the municipality's budgets.
    __table_args__ = (Index("ix_budget_budget_opened", "municipality", "opened_at", "id"), {"schema": SCHEMA})

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    # The trajectory this budget serves: the plan id, or the orientation id.
    plan_id: str = Field(unique=True, max_length=36)
    client_id: str = Field(index=True, max_length=36)
    kind: str = Field(default=BudgetKind.PLAN, max_length=20)
    scheme: str = Field(max_length=20)
    status: str = Field(default=BudgetStatus.OPEN, max_length=20)
    granted_cents: int = Field(sa_type=BigInteger)
    execution_cost_cents: int = Field(default=0, sa_type=BigInteger)
    execution_deadline: date
    opened_at: datetime
    closed_on: date | None = None
    close_reason: str | None = Field(default=None, max_length=20)
    outcome_reached: bool = False
    thresholds_reached: str = Field(default="", max_length=40)


class BudgetLine(SQLModel, table=True):
    __tablename__ = "budget_line"
    __table_args__ = (
        CheckConstraint("available_cents >= 0", name="ck_budget_line_available_not_negative"),
        CheckConstraint("payable_cents >= 0", name="ck_budget_line_payable_not_negative"),
        CheckConstraint("held_cents >= 0", name="ck_budget_line_held_not_negative"),
        CheckConstraint("committed_cents >= 0", name="ck_budget_line_committed_not_negative"),
        CheckConstraint("paid_cents >= 0", name="ck_budget_line_paid_not_negative"),
        CheckConstraint("granted_cents >= 0", name="ck_budget_line_granted_not_negative"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    budget_id: str = Field(foreign_key="budget.budget.id", index=True, max_length=36)
    plan_line_id: str = Field(max_length=36)
    category: str = Field(max_length=40)
    provider_name: str | None = Field(default=None, max_length=200)
    provider_kvk: str | None = Field(default=None, max_length=8)
    starts_on: date | None = None
    ends_on: date | None = None
    holdback_percent: int = 0
    status: str = Field(default=LineStatus.OPEN, max_length=20)
    # The price catalogue's product the plan named for this line (PlanApproved v2): an invoice's
    # unit price above its maximum is held for finance (domain/provider_register.py).
    product_code: str | None = Field(default=None, max_length=40)
    product_unit: str | None = Field(default=None, max_length=20)
    max_unit_price_cents: int | None = Field(default=None, sa_type=BigInteger)
    # Cached balances: the database derives them from each ledger entry inserted (trigger in
    # budget_0003) and its checks refuse any account below zero. Code reads them, never writes them.
    granted_cents: int = Field(default=0, sa_type=BigInteger)
    available_cents: int = Field(default=0, sa_type=BigInteger)
    committed_cents: int = Field(default=0, sa_type=BigInteger)
    held_cents: int = Field(default=0, sa_type=BigInteger)
    payable_cents: int = Field(default=0, sa_type=BigInteger)
    paid_cents: int = Field(default=0, sa_type=BigInteger)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = {"schema": SCHEMA}

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    transaction_id: str = Field(index=True, max_length=36)
    budget_id: str = Field(index=True, max_length=36)
    budget_line_id: str = Field(index=True, max_length=36)
    kind: str = Field(max_length=30)
    account: str = Field(max_length=20)
    amount_cents: int = Field(sa_type=BigInteger)
    invoice_id: str | None = Field(default=None, max_length=36)
    created_at: datetime


class Order(SQLModel, table=True):
    """An accepted quote or order on a budget line: reserves money; its reference maps invoices."""

    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("municipality", "order_reference", name="uq_order_reference"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    budget_id: str = Field(index=True, max_length=36)
    budget_line_id: str = Field(max_length=36)
    order_reference: str = Field(max_length=80)
    provider_name: str = Field(max_length=200)
    provider_kvk: str | None = Field(default=None, max_length=8)
    amount_cents: int = Field(sa_type=BigInteger)
    used_cents: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(default=OrderStatus.OPEN, max_length=20)
    created_by: str = Field(max_length=80)
    created_at: datetime


class PeriodicPayment(SQLModel, table=True):
    """pgb bw: a monthly payment to the employer (wage-cost subsidy) or the job coach."""

    __tablename__ = "periodic_payment"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    budget_id: str = Field(index=True, max_length=36)
    budget_line_id: str = Field(max_length=36)
    order_id: str = Field(max_length=36)
    order_reference: str = Field(max_length=80)
    payee_kind: str = Field(max_length=20)  # employer | supervisor
    payee_name: str = Field(max_length=200)
    payee_kvk: str | None = Field(default=None, max_length=8)
    payee_iban: str = Field(max_length=34)
    monthly_cents: int = Field(sa_type=BigInteger)
    first_due: date
    months: int
    created_months: int = 0
    created_by: str = Field(max_length=80)


class Invoice(SQLModel, table=True):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("municipality", "provider_id", "invoice_number", name="uq_invoice_provider_number"),
        UniqueConstraint("municipality", "content_hash", name="uq_invoice_content_hash"),
        CheckConstraint("amount_cents > 0", name="ck_invoice_amount_positive"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    budget_id: str = Field(index=True, max_length=36)
    budget_line_id: str = Field(max_length=36)
    order_id: str | None = Field(default=None, max_length=36)
    plan_id: str = Field(max_length=36)
    client_id: str = Field(index=True, max_length=36)
    flow: str = Field(default="provider", max_length=20)  # provider | forwarded | declaration
    source: str = Field(default="json", max_length=10)  # json | ubl | pdf
    provider_id: str = Field(max_length=80, index=True)
    # False when provider_id was made up from the supplier's name (or is the declaring client's):
    # the invoice events then leave it out, as events carry identifiers, never a name.
    provider_identified: bool = True
    provider_name: str = Field(max_length=200)
    provider_kvk: str | None = Field(default=None, max_length=8)
    provider_vat: str | None = Field(default=None, max_length=20)
    # Where to tell the supplier about its invoice (a UBL contact or the JSON `supplier_email`).
    # Personal data: only GET .../supplier-contact gives it out; never in an event or a log.
    supplier_email: str | None = Field(default=None, max_length=254)
    # Who receives the money: the provider, or the client for a declaration.
    creditor_name: str = Field(max_length=200)
    creditor_iban: str = Field(max_length=34)
    invoice_number: str = Field(max_length=80)
    issue_date: date | None = None
    service_from: date | None = None
    service_to: date | None = None
    currency: str = Field(default="EUR", max_length=3)
    amount_excl_vat_cents: int = Field(default=0, sa_type=BigInteger)
    vat_cents: int = Field(default=0, sa_type=BigInteger)
    # What the invoice costs the budget (excl. VAT unless the policy says incl.).
    amount_cents: int = Field(sa_type=BigInteger)
    # Held back until an outcome (no cure, less pay): of the budget charge, and of the transfer.
    held_cents: int = Field(default=0, sa_type=BigInteger)
    held_pay_cents: int = Field(default=0, sa_type=BigInteger)
    # Credited (before payment: less to pay; after: refunded), of the charge and of the transfer.
    credited_cents: int = Field(default=0, sa_type=BigInteger)
    credited_pay_cents: int = Field(default=0, sa_type=BigInteger)
    # What the Dutch e-invoicing rules (SI-UBL 2.0 BR-NL) advise against in the UBL it came in as.
    einvoice_warnings: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    holdback_status: str | None = Field(default=None, max_length=20)  # a HoldbackStatus
    content_hash: str = Field(max_length=64)
    # Set when the document itself says "do not pay as usual" (e.g. an SI-UBL G-account split):
    # such an invoice stays out of payment runs; finance pays it by hand and marks it paid.
    payment_hold: str | None = Field(default=None, max_length=200)
    # What finance must look at before paying (the provider register, the price catalogue):
    # [{code, message, message_nl}]; a finding also sets payment_hold.
    findings: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default=InvoiceStatus.RECEIVED, max_length=30)
    rejection_code: str | None = Field(default=None, max_length=60)
    rejection_reason: str | None = Field(default=None, max_length=1000)
    received_at: datetime
    client_confirmed_at: datetime | None = None
    first_approved_by: str | None = Field(default=None, max_length=80)
    approved_at: datetime | None = None
    approved_by: str | None = Field(default=None, max_length=80)
    paid_on: date | None = None


class CreditNote(SQLModel, table=True):
    """A correction on an invoice: a new record and new ledger entries, never an edit."""

    __tablename__ = "credit_note"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="ck_credit_note_positive"),
        # The same provider credit note (by its number) is booked on an invoice once.
        UniqueConstraint("invoice_id", "document_number", name="uq_credit_note_document_number"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    invoice_id: str = Field(index=True, max_length=36)
    kind: str = Field(max_length=10)  # a CreditKind: credit (before payment) | refund (money came back)
    amount_cents: int = Field(sa_type=BigInteger)
    pay_cents: int = Field(default=0, sa_type=BigInteger)  # of the transfer, incl. VAT
    reason: str = Field(max_length=1000)
    # A credit note the provider sent as a document (UBL CreditNote): its number and the original.
    document_number: str | None = Field(default=None, max_length=80)
    document: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_by: str = Field(max_length=80)
    created_at: datetime


class InvoiceDocument(SQLModel, table=True):
    __tablename__ = "invoice_document"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    invoice_id: str = Field(index=True, max_length=36)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class PaymentRun(SQLModel, table=True):
    __tablename__ = "payment_run"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    status: str = Field(default=PaymentRunStatus.SCHEDULED, max_length=20)
    pain_schema: str = Field(max_length=20)
    message_id: str = Field(max_length=35)
    execution_date: date
    item_count: int
    total_cents: int = Field(sa_type=BigInteger)
    xml: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: str = Field(max_length=80)
    created_at: datetime
    paid_on: date | None = None


class PaymentItem(SQLModel, table=True):
    """One transfer in a run. Unique per invoice part while not returned: a payment never goes
    out twice; one the bank returned (camt.053/054, budget_0008) leaves room for paying it again."""

    __tablename__ = "payment_item"
    __table_args__ = (
        Index(
            "uq_payment_item_invoice_part",
            "invoice_id",
            "part",
            unique=True,
            postgresql_where=text("returned_on IS NULL"),
            sqlite_where=text("returned_on IS NULL"),
        ),
        Index("ix_budget_payment_item_end_to_end_id", "end_to_end_id"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    run_id: str = Field(index=True, max_length=36)
    invoice_id: str = Field(max_length=36)
    part: str = Field(max_length=10)  # a PaymentPart: main | holdback
    end_to_end_id: str = Field(max_length=35)
    amount_cents: int = Field(sa_type=BigInteger)
    ledger_cents: int = Field(sa_type=BigInteger)
    # What the bank did with it: paid (the run confirmed, or a statement booked it) or returned.
    paid_on: date | None = None
    returned_on: date | None = None
    return_code: str | None = Field(default=None, max_length=35)


class InvoiceBatch(SQLModel, table=True):
    __tablename__ = "invoice_batch"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    submitted_by: str = Field(max_length=80)
    provider_id: str | None = Field(default=None, max_length=80)
    created_at: datetime
    results: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = {"schema": SCHEMA}

    municipality: str = Field(primary_key=True, max_length=4)
    subject: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    response: dict[str, Any] | list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=SYSTEM_CLOCK.now)


# --- API shapes ---------------------------------------------------------------------------
# Input models take text as `Line` (names, references, numbers: one line) or `FreeText`
# (reasons), never a bare `str`: a NUL or another control character is a 422 naming the field.
# The JSON invoice and the supplier's contact are in models_invoices_in.py.


class BudgetLinePublic(SQLModel):
    id: str
    plan_line_id: str
    category: str
    provider_name: str | None
    starts_on: date | None
    ends_on: date | None
    holdback_percent: int
    status: LineStatus
    granted: EuroAmount
    committed: EuroAmount
    invoiced: EuroAmount
    approved: EuroAmount
    held: EuroAmount
    paid: EuroAmount
    remaining: EuroAmount


class BudgetPublic(SQLModel):
    id: str
    municipality: str
    plan_id: str
    client_id: str
    kind: BudgetKind
    scheme: str
    status: BudgetStatus
    execution_deadline: date
    closed_on: date | None
    execution_costs: EuroAmount
    granted: EuroAmount
    committed: EuroAmount
    invoiced: EuroAmount
    approved: EuroAmount
    held: EuroAmount
    paid: EuroAmount
    remaining: EuroAmount
    lines: list[BudgetLinePublic]


class OrderIn(SQLModel):
    model_config = {"extra": "forbid"}

    budget_line_id: Line = Field(min_length=1, max_length=36)
    order_reference: Line = Field(
        min_length=1,
        max_length=80,
        description="The number the provider puts on its invoices (OrderReference or BuyerReference on an e-invoice).",
    )
    provider_name: Line = Field(min_length=1, max_length=200)
    provider_kvk: KvK | None = Field(default=None, max_length=20, description="KvK number, 8 digits.")
    amount: EuroAmount


class OrderPublic(SQLModel):
    id: str
    budget_id: str
    budget_line_id: str
    order_reference: str
    provider_name: str
    provider_kvk: str | None
    amount: EuroAmount
    used: EuroAmount
    status: OrderStatus
    created_at: datetime


class PeriodicPaymentIn(SQLModel):
    model_config = {"extra": "forbid"}

    budget_line_id: Line = Field(min_length=1, max_length=36)
    payee_kind: Literal["employer", "supervisor"]
    payee_name: Line = Field(min_length=1, max_length=200)
    payee_kvk: KvK | None = Field(default=None, max_length=20, description="KvK number, 8 digits.")
    payee_iban: IBANStr
    monthly_amount: EuroAmount
    first_due: date
    months: int = Field(ge=1, le=12)


class PeriodicPaymentPublic(SQLModel):
    id: str
    budget_id: str
    budget_line_id: str
    order_reference: str
    payee_kind: str
    payee_name: str
    monthly_amount: EuroAmount
    first_due: date
    months: int
    created_months: int


class InvoicePublic(SQLModel):
    id: str
    budget_id: str
    budget_line_id: str
    order_id: str | None
    flow: str
    source: str
    provider_id: str
    provider_name: str
    invoice_number: str
    issue_date: date | None
    service_from: date | None
    service_to: date | None
    amount: EuroAmount
    amount_excl_vat: EuroAmount
    vat: EuroAmount
    total: EuroAmount
    held: EuroAmount
    credited: EuroAmount
    holdback_status: HoldbackStatus | None
    payment_hold: str | None
    findings: list[dict[str, str]] | None = None
    status: InvoiceStatus
    rejection_code: str | None
    rejection_reason: str | None
    received_at: datetime
    client_confirmed_at: datetime | None
    first_approved_by: str | None
    approved_at: datetime | None
    approved_by: str | None
    paid_on: date | None


class ItemResult(SQLModel):
    index: int
    reference: str | None
    status: Literal["accepted", "rejected"]
    invoice_id: str | None = None
    code: str | None = None
    field: str | None = None
    message: str | None = None


class BatchResult(SQLModel):
    batch_id: str
    accepted: int
    rejected: int
    results: list[ItemResult]
    results_file: str


class CreditNoteIn(SQLModel):
    model_config = {"extra": "forbid"}

    amount: EuroAmount = Field(description="In budget terms (excl. VAT unless the policy says incl.).")
    reason: FreeText = Field(min_length=1, max_length=1000)


class CreditNotePublic(SQLModel):
    id: str
    invoice_id: str
    kind: CreditKind
    amount: EuroAmount  # in budget terms, as the invoice's `amount`
    transfer: EuroAmount  # taken off (or paid back from) the transfer, incl. VAT
    reason: str
    document_number: str | None = None
    created_by: str
    created_at: datetime


class MarkPaid(SQLModel):
    model_config = {"extra": "forbid"}

    paid_on: date


class RejectInvoice(SQLModel):
    model_config = {"extra": "forbid"}

    reason: FreeText = Field(min_length=1, max_length=1000)


class BulkApprove(SQLModel):
    model_config = {"extra": "forbid"}

    invoice_ids: list[Annotated[Line, StringConstraints(max_length=36)]] = Field(min_length=1, max_length=1000)


class PaymentRunCreate(SQLModel):
    model_config = {"extra": "forbid"}

    execution_date: date
    pain_schema: Literal["pain.001.001.09", "pain.001.001.03"] | None = None


class PaymentRunPublic(SQLModel):
    id: str
    status: PaymentRunStatus
    pain_schema: str
    message_id: str
    execution_date: date
    item_count: int
    total: EuroAmount
    created_by: str
    created_at: datetime
    paid_on: date | None
    download: str
