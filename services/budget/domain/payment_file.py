"""The ISO 20022 pain.001 credit-transfer file a Dutch bank takes for a payment run.

Every payment is checked first; a bad one refuses the run with a stable code and the index of
the payment at fault, so a half-good file never reaches the bank.

`Pain001Writer` writes the file as payments come, in memory that does not grow with the run (a
run may hold 100,000 payments, docs/performance.md): each transfer is serialised by lxml into a
temporary file as it is added, while the count and the control sum are kept in whole cents.
`finish` then writes the document with lxml's incremental writer (`etree.xmlfile`): the group
header and the payment block, which come first and carry the totals, then the transfers copied
from the temporary file. Finally it reads the whole file once, streaming (`iterparse` with the
XSD attached, elements dropped as they are read): that validates it against the XSD sepaxml
ships for the version, and adds up what the file says, which must be what was written. The
output is the same, element for element, as sepaxml's `SepaTransfer(batch=True)` gave for one
execution date (docs/performance.md); sepaxml itself is no longer called, only its XSDs are read.

Why not sepaxml's `export(validate=True)`: sepaxml validates with xmlschema, a pure-Python
validator that it rebuilds on every call. For 100,000 payments that took about 25 s, and above
roughly 58,000 payments it stopped with XMLResourceExceeded. We validate against the same XSD
file with libxml2 (lxml), compiled once per version.

Texts are transliterated the way sepaxml's own cleaning does it (text_unidecode: "é" becomes
"e", "ß" becomes "ss"), as banks take only the Latin character set; not at all for plain ASCII.
Names longer than 70 characters are cut, as the scheme does. A remittance longer than 140
characters is refused, not cut: it carries the invoice number the provider needs to match the
payment, and cutting could silently drop it.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import IO

from lxml import etree
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from text_unidecode import unidecode  # sepaxml's own transliteration; installed with sepaxml

from services.budget.domain.payment_file_check import (  # noqa: F401 - the file's readers, used from here too
    PAIN_NAMESPACE_PREFIX,
    SUPPORTED_SCHEMAS,
    PaymentFileError,
    pain_schema,
    parse_pain001_totals,
    read_back_pain001,
    validate_pain001,
)
from shared.clock import SYSTEM_CLOCK
from shared.money import Money

DEFAULT_SCHEMA = "pain.001.001.09"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"

MAX_REMITTANCE_CHARS = 140  # Ustrd, Max140Text
MAX_NAME_CHARS = 70  # EPC limit for names in a SEPA credit transfer
MAX_AMOUNT = Money(999_999_999_99)  # EPC: at most EUR 999,999,999.99 per transaction
# EPC rule for references (MsgId, EndToEndId): these characters, no leading or trailing "/" and no "//".
_SEPA_REFERENCE = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]{1,35}")


def check_execution_date(execution_date: date, today: date) -> None:
    """A run is executed today or later: a bank takes no requested execution date in the past
    (for a date it does take, it pays on the next business day, which would be a different day
    than the run records)."""
    if execution_date < today:
        raise PaymentFileError(
            "payment_run.execution_date_past",
            f"The execution date {execution_date.isoformat()} is in the past; choose today or a later day.",
            "execution_date",
        )


@dataclass(frozen=True)
class Debtor:
    """The municipality's account the run is paid from."""

    name: str
    iban: str
    bic: str


@dataclass(frozen=True)
class Payment:
    end_to_end_id: str  # our reference, returned by the bank on statements and rejections
    creditor_name: str
    creditor_iban: str
    creditor_bic: str | None  # optional within SEPA (IBAN-only)
    amount: Money
    remittance: str  # unstructured remittance information, at most 140 characters


@dataclass(frozen=True)
class PaymentFile:
    """A written, validated and totalled file; its bytes wait in a temporary file (`content`)."""

    content: IO[bytes] = field(repr=False, compare=False)
    size: int
    schema: str
    number_of_transactions: int
    control_sum: Money
    message_id: str

    @property
    def xml_bytes(self) -> bytes:
        self.content.seek(0)
        return self.content.read()

    def close(self) -> None:
        self.content.close()


def build_pain001(
    debtor: Debtor,
    payments: Iterable[Payment],
    execution_date: date,
    message_id: str,
    schema: str = DEFAULT_SCHEMA,
    *,
    created_at: datetime | None = None,
) -> PaymentFile:
    """One batch of SEPA credit transfers, executed on `execution_date`, validated and totalled."""
    payments = list(payments)
    with Pain001Writer(debtor, execution_date, message_id, schema, created_at=created_at) as writer:
        if not payments:
            raise PaymentFileError("payment_file.empty", "A payment run needs at least one payment.", "payments")
        for payment in payments:
            writer.add(payment)
        return writer.finish()


class Pain001Writer:
    """A pain.001 file written payment by payment (see the module doc). Use it as a context
    manager, so its temporary files go when a check refuses the run halfway."""

    def __init__(
        self,
        debtor: Debtor,
        execution_date: date,
        message_id: str,
        schema: str = DEFAULT_SCHEMA,
        *,
        created_at: datetime | None = None,
    ) -> None:
        if schema not in SUPPORTED_SCHEMAS:
            raise PaymentFileError(
                "payment_file.schema",
                f"Unsupported schema {schema!r}; use one of {', '.join(SUPPORTED_SCHEMAS)}.",
                "schema",
            )
        _check_reference(message_id, "message_id", "message_id")
        if isinstance(execution_date, datetime) or not isinstance(execution_date, date):
            raise PaymentFileError(
                "payment_file.execution_date", "The execution date must be a date (no time).", "execution_date"
            )
        self.debtor, self.execution_date, self.message_id, self.schema = debtor, execution_date, message_id, schema
        # sepaxml wrote the local time of the server, without a zone; so do we, from the caller's clock.
        moment = created_at or SYSTEM_CLOCK.now()
        self.created_at = moment.astimezone() if moment.tzinfo else moment
        self.count = 0
        self.cents = 0  # the control sum, in whole cents as every amount
        self._checked_debtor: tuple[str, str] | None = None
        self._seen_ids: set[str] = set()
        self._ibans: dict[str, str] = {}  # a run pays the same providers many times; check each IBAN once
        self._body: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._transfer = {bic: _TransferTemplate(schema, bic) for bic in (False, True)}

    def __enter__(self) -> Pain001Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the temporary file of transfers (the finished file is the PaymentFile's)."""
        self._body.close()

    def add(self, payment: Payment) -> Payment:
        """Check one payment and write it; the payment as it went into the file (texts cleaned)."""
        if self._checked_debtor is None:
            self._checked_debtor = _checked_debtor(self.debtor)
        checked = _checked_payment(payment, self.count, self._seen_ids, self._ibans)
        self._body.write(self._transfer[checked.creditor_bic is not None].serialised(checked))
        self.count += 1
        self.cents += checked.amount.cents
        return checked

    def finish(self) -> PaymentFile:
        """Write the document around the transfers, validate it and read its totals back."""
        if not self.count:
            raise PaymentFileError("payment_file.empty", "A payment run needs at least one payment.", "payments")
        if self._checked_debtor is None:
            self._checked_debtor = _checked_debtor(self.debtor)
        out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - the PaymentFile's, closed by its owner
        try:
            self._write_document(out)
            size = out.tell()
            out.seek(0)
            count, control_sum = read_back_pain001(out, self.schema)
            if count != self.count or control_sum.cents != self.cents:
                raise PaymentFileError(
                    "payment_file.totals_mismatch",
                    f"The file holds {count} payments for {control_sum}, "
                    f"the run has {self.count} for {Money(self.cents)}.",
                    "payments",
                )
        except BaseException:
            out.close()
            raise
        return PaymentFile(
            content=out,
            size=size,
            schema=self.schema,
            number_of_transactions=count,
            control_sum=control_sum,
            message_id=self.message_id,
        )

    def _write_document(self, out: IO[bytes]) -> None:
        assert self._checked_debtor is not None
        debtor_iban, debtor_bic = self._checked_debtor
        name, total = _name(self.debtor.name), _amount_text(self.cents)
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>')  # as sepaxml wrote it
        # Elements without a namespace under the root's default namespace: serialised without
        # an xmlns of their own, they are in the pain.001 namespace, as in sepaxml's files.
        with etree.xmlfile(out, encoding="UTF-8") as xf:
            nsmap = {None: f"urn:iso:std:iso:20022:tech:xsd:{self.schema}", "xsi": XSI_NAMESPACE}
            with xf.element(f"{{{nsmap[None]}}}Document", nsmap=nsmap), xf.element("CstmrCdtTrfInitn"):
                xf.write(
                    _tree(
                        "GrpHdr",
                        ("MsgId", self.message_id),
                        ("CreDtTm", self.created_at.strftime("%Y-%m-%dT%H:%M:%S")),
                        ("NbOfTxs", str(self.count)),
                        ("CtrlSum", total),
                        ("InitgPty", ("Nm", name)),
                    )
                )
                with xf.element("PmtInf"):
                    day = self.execution_date.isoformat()
                    for element in (
                        ("PmtInfId", f"{re.sub(r'[^a-zA-Z0-9]', '', name)[:22]}-{secrets.token_hex(6)}"),
                        ("PmtMtd", "TRF"),
                        ("BtchBookg", "true"),
                        ("NbOfTxs", str(self.count)),
                        ("CtrlSum", total),
                        ("PmtTpInf", ("SvcLvl", ("Cd", "SEPA"))),
                        ("ReqdExctnDt", day) if self.schema == "pain.001.001.03" else ("ReqdExctnDt", ("Dt", day)),
                        ("Dbtr", ("Nm", name)),
                        ("DbtrAcct", ("Id", ("IBAN", debtor_iban))),
                        ("DbtrAgt", ("FinInstnId", (_bic_tag(self.schema), debtor_bic))),
                        ("ChrgBr", "SLEV"),
                    ):
                        xf.write(_tree(*element))
                    xf.flush()
                    self._body.seek(0)
                    shutil.copyfileobj(self._body, out)


def _amount_text(cents: int) -> str:
    """Cents as the file writes them ("12.50"), by string, never by division."""
    digits = str(cents).rjust(3, "0")
    return f"{digits[:-2]}.{digits[-2:]}"


def _bic_tag(schema: str) -> str:
    return "BIC" if schema == "pain.001.001.03" else "BICFI"


def _tree(tag: str, *children: str | tuple) -> etree._Element:
    """("Tag", "text") or ("Tag", ("Child", ...), ...) as an element without a namespace."""
    element = etree.Element(tag)
    for child in children:
        if isinstance(child, str):
            element.text = child
        else:
            element.append(_tree(*child))
    return element


class _TransferTemplate:
    """One CdtTrfTxInf element, filled in and serialised again for every payment (building a new
    element per payment costs more than the serialising)."""

    def __init__(self, schema: str, with_bic: bool) -> None:
        agent = [("CdtrAgt", ("FinInstnId", (_bic_tag(schema), "")))] if with_bic else []
        self.element = _tree(
            "CdtTrfTxInf",
            ("PmtId", ("EndToEndId", "")),
            ("Amt", ("InstdAmt", "")),
            *agent,
            ("Cdtr", ("Nm", "")),
            ("CdtrAcct", ("Id", ("IBAN", ""))),
            ("RmtInf", ("Ustrd", "")),
        )
        find = self.element.find
        self.end_to_end, self.amount = find("PmtId/EndToEndId"), find("Amt/InstdAmt")
        self.bic = find(f"CdtrAgt/FinInstnId/{_bic_tag(schema)}") if with_bic else None
        self.name, self.iban, self.remittance = find("Cdtr/Nm"), find("CdtrAcct/Id/IBAN"), find("RmtInf/Ustrd")
        self.amount.set("Ccy", "EUR")

    def serialised(self, payment: Payment) -> bytes:
        self.end_to_end.text = payment.end_to_end_id
        self.amount.text = _amount_text(payment.amount.cents)
        if self.bic is not None:
            self.bic.text = payment.creditor_bic
        self.name.text = payment.creditor_name
        self.iban.text = payment.creditor_iban
        self.remittance.text = payment.remittance
        return etree.tostring(self.element, encoding="UTF-8", xml_declaration=False)


# --- Checks before anything is written ----------------------------------------------------------


def _check_reference(value: str, what: str, field: str) -> None:
    if (
        not isinstance(value, str)
        or not _SEPA_REFERENCE.fullmatch(value)
        or value.startswith("/")
        or value.endswith("/")
        or "//" in value
    ):
        raise PaymentFileError(
            f"payment_file.{what}",
            f"The {what} {value!r} must be 1-35 characters of A-Z, a-z, "
            "0-9 and /-?:().,'+ or space, without a leading or trailing '/' or '//'.",
            field,
        )


def _iban(value: str, field: str) -> str:
    try:
        iban = IBAN(value)
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise PaymentFileError("payment_file.iban", f"{value!r} is not a valid IBAN.", field) from exc
    if not iban.in_sepa_zone:
        raise PaymentFileError("payment_file.iban", f"{iban.compact} is outside the SEPA zone.", field)
    return iban.compact


def _bic(value: str, field: str) -> str:
    try:
        return BIC(value).compact
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise PaymentFileError("payment_file.bic", f"{value!r} is not a valid BIC.", field) from exc


def _latin(text: str) -> str:
    return (text if text.isascii() else unidecode(text)).strip()


@lru_cache(maxsize=16384)  # a run pays the same providers many times
def _name(text: str) -> str:
    return _latin(text)[:MAX_NAME_CHARS].rstrip()


def _checked_debtor(debtor: Debtor) -> tuple[str, str]:
    if not _name(debtor.name or ""):
        raise PaymentFileError("payment_file.debtor", "The debtor needs a name.", "debtor.name")
    return _iban(debtor.iban, "debtor.iban"), _bic(debtor.bic, "debtor.bic")


def _checked_payment(payment: Payment, index: int, seen_ids: set[str], ibans: dict[str, str]) -> Payment:
    """The payment as it goes into the file: IBAN and BIC compact, texts transliterated."""
    at = f"payments[{index}]"
    _check_reference(payment.end_to_end_id, "end_to_end_id", f"{at}.end_to_end_id")
    if payment.end_to_end_id in seen_ids:
        raise PaymentFileError(
            "payment_file.duplicate_end_to_end_id",
            f"End-to-end id {payment.end_to_end_id!r} is used twice.",
            f"{at}.end_to_end_id",
        )
    seen_ids.add(payment.end_to_end_id)
    if not isinstance(payment.amount, Money) or payment.amount.cents <= 0:
        raise PaymentFileError(
            "payment_file.amount", "Each payment must be a positive amount of Money.", f"{at}.amount"
        )
    if payment.amount > MAX_AMOUNT:
        raise PaymentFileError("payment_file.amount", f"A SEPA transfer can be at most {MAX_AMOUNT}.", f"{at}.amount")
    name = _name(payment.creditor_name or "")
    if not name:
        raise PaymentFileError("payment_file.creditor_name", "The creditor needs a name.", f"{at}.creditor_name")
    remittance = _latin(payment.remittance or "")
    if not remittance:
        raise PaymentFileError("payment_file.remittance", "The remittance information is empty.", f"{at}.remittance")
    if len(remittance) > MAX_REMITTANCE_CHARS:
        raise PaymentFileError(
            "payment_file.remittance_too_long",
            f"The remittance information is {len(remittance)} characters; at most {MAX_REMITTANCE_CHARS} fit.",
            f"{at}.remittance",
        )
    if payment.creditor_iban not in ibans:
        ibans[payment.creditor_iban] = _iban(payment.creditor_iban, f"{at}.creditor_iban")
    bic = _bic(payment.creditor_bic, f"{at}.creditor_bic") if payment.creditor_bic else None
    return Payment(payment.end_to_end_id, name, ibans[payment.creditor_iban], bic, payment.amount, remittance)
