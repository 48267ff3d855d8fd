"""What the bank says happened to our payments: an ISO 20022 camt.053 (end-of-day statement) or
camt.054 (debit/credit notification), read into plain data, and what each booked transaction
means for the payment-run item it names.

Accepted: camt.053.001.02 to .13 and camt.054.001.02 to .13 (the versions ISO 20022 publishes;
Dutch banks send .02 or .08). The parts we read are the same in all of them, except the entry
status (a bare code up to .07, `Sts/Cd` from .08) and the transaction amount (`AmtDtls` in .02,
`TxDtls/Amt` from .04). Anything else is refused before a row is read: another namespace, a
DOCTYPE (entity expansion, XXE), a file above MAX_STATEMENT_BYTES.

A transaction is matched to the item with its EndToEndId (the pain.001 gave each invoice part
its own, services/budget/domain/payment_run.py). `decide` says what to do; nothing here touches
the database. Plain Python: the caller passes everything in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from lxml import etree

from shared.errors import DomainError
from shared.money import Money, MoneyError

# As an e-invoice: about 10,000 transactions. (Above 11 MiB the web layer answers 413 already,
# its limit for XML bodies: shared/web.py.)
MAX_STATEMENT_BYTES = 10 * 1024 * 1024
NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
SUPPORTED = {
    f"{message}.001.{version:02d}": (message, root)
    for message, root in (("camt.053", "BkToCstmrStmt"), ("camt.054", "BkToCstmrDbtCdtNtfctn"))
    for version in range(2, 14)
}
# The statement (camt.053) or notification (camt.054) blocks under the root.
_BLOCKS = {"camt.053": "Stmt", "camt.054": "Ntfctn"}
# Bank transaction codes (ISO 20022 external code set) that mean "a credit transfer came back".
_RETURN_SUBFAMILIES = {"RRTN", "RPCR", "RTRN"}


class BankStatementError(DomainError):
    """The file is refused as a whole; nothing was read into the budget."""


@dataclass(frozen=True)
class ReturnReason:
    code: str
    en: str
    nl: str


# The ISO 20022 external return reason codes seen on SEPA credit transfers (EPC guidance).
_REASONS: dict[str, tuple[str, str]] = {
    "AC01": ("Incorrect account number", "Rekeningnummer onjuist"),
    "AC04": ("Closed account number", "Rekening opgeheven"),
    "AC06": ("Blocked account", "Rekening geblokkeerd"),
    "AC13": ("Invalid creditor account type", "Soort rekening niet toegestaan"),
    "AG01": ("Transaction forbidden on this account", "Transactie niet toegestaan op deze rekening"),
    "AG02": ("Invalid bank operation code", "Ongeldige bankcode"),
    "AM04": ("Insufficient funds", "Onvoldoende saldo"),
    "AM05": ("Duplicate payment", "Dubbele betaling"),
    "AM09": ("Wrong amount", "Verkeerd bedrag"),
    "BE04": ("Creditor address missing or incorrect", "Adres begunstigde ontbreekt of is onjuist"),
    "CNOR": ("Creditor bank is not registered", "Bank van de begunstigde niet aangesloten"),
    "CUST": ("Requested by the customer", "Op verzoek van de klant"),
    "DUPL": ("Duplicate payment", "Dubbele betaling"),
    "ERIN": ("The ERI option is not supported", "ERI-optie niet ondersteund"),
    "FF01": ("Invalid file format", "Ongeldig bestandsformaat"),
    "FOCR": ("Returned after a cancellation request", "Teruggeboekt na een verzoek tot annulering"),
    "FRAD": ("Fraudulent origin", "Frauduleuze oorsprong"),
    "MD07": ("Account holder deceased", "Rekeninghouder overleden"),
    "MS02": ("Reason not specified by the creditor", "Reden niet opgegeven door de begunstigde"),
    "MS03": ("Reason not specified by the bank", "Reden niet opgegeven door de bank"),
    "RC01": ("Bank identifier (BIC) incorrect", "Bankidentificatie (BIC) onjuist"),
    "RR01": (
        "Regulatory reason: debtor account or identification missing",
        "Wettelijke reden: gegevens betaler ontbreken",
    ),
    "RR02": ("Regulatory reason: debtor name or address missing", "Wettelijke reden: naam of adres betaler ontbreekt"),
    "RR03": (
        "Regulatory reason: creditor name or address missing",
        "Wettelijke reden: naam of adres begunstigde ontbreekt",
    ),
    "RR04": ("Regulatory reason", "Wettelijke reden"),
    "TECH": ("Technical problem", "Technisch probleem"),
    "TM01": ("Received after the cut-off time", "Na het sluitingstijdstip ontvangen"),
    "UPAY": ("Undue payment", "Onverschuldigde betaling"),
}


def return_reason(code: str | None) -> ReturnReason:
    """The reason a bank gave for returning a payment, in English and Dutch (unknown codes too)."""
    if not code:
        return ReturnReason("", "Returned by the bank (no reason given)", "Teruggeboekt door de bank (geen reden)")
    en, nl = _REASONS.get(code, (f"Returned by the bank (reason {code})", f"Teruggeboekt door de bank (reden {code})"))
    return ReturnReason(code, en, nl)


@dataclass(frozen=True)
class BankTransaction:
    """One transaction of a booked (or pending) entry: the unit we reconcile."""

    position: int  # 1, 2, ... in the file
    statement_id: str  # Stmt/Id or Ntfctn/Id
    entry_ref: str  # AcctSvcrRef (the bank's), else NtryRef, else the entry's place in the file
    booked: bool
    status: str  # BOOK, PDNG, INFO, ...
    booking_date: date | None
    credit_debit: str  # CRDT | DBIT
    returned: bool  # a return or reversal of an earlier transfer
    return_code: str | None
    end_to_end_id: str | None
    amount: Money | None  # None: not an amount in cents
    currency: str


@dataclass(frozen=True)
class BankStatement:
    message: str  # camt.053 | camt.054
    schema: str  # e.g. camt.053.001.02
    message_id: str
    statement_ids: tuple[str, ...]
    accounts: tuple[str, ...]  # the IBANs the statements are about
    transactions: tuple[BankTransaction, ...]


# --- reading --------------------------------------------------------------------------------


def _parse_xml(raw: bytes) -> etree._Element:
    if len(raw) > MAX_STATEMENT_BYTES:
        raise BankStatementError(
            "bank_statement.too_large",
            f"A bank statement may be at most {MAX_STATEMENT_BYTES // (1024 * 1024)} MB.",
            "file",
            message_nl=f"Een bankafschrift mag hoogstens {MAX_STATEMENT_BYTES // (1024 * 1024)} MB zijn.",
        )
    # No DTD, no entities, no network: the file comes from outside.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(raw, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise BankStatementError(
            "bank_statement.malformed",
            f"The file is not well-formed XML: {exc}",
            "file",
            message_nl="Het bestand is geen geldige XML.",
        ) from exc
    if root is None:
        raise BankStatementError(
            "bank_statement.malformed", "The file is empty.", "file", message_nl="Het bestand is leeg."
        )
    if root.getroottree().docinfo.doctype:
        raise BankStatementError(
            "bank_statement.dtd_forbidden",
            "A DOCTYPE declaration is not allowed in a bank statement.",
            "file",
            message_nl="Een DOCTYPE-declaratie is niet toegestaan in een bankafschrift.",
        )
    return root


def _text(el: etree._Element | None, path: str, ns: dict[str, str]) -> str | None:
    if el is None:
        return None
    found = el.find(path, ns)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
    except ValueError:
        return None


def _amount(el: etree._Element | None) -> tuple[Money | None, str]:
    if el is None or el.text is None:
        return None, ""
    currency = el.get("Ccy") or ""
    try:
        return Money.euros(Decimal(el.text.strip())), currency
    except (InvalidOperation, MoneyError):
        return None, currency


def parse_bank_statement(raw: bytes) -> BankStatement:
    """A camt.053 or camt.054 document, refused as a whole (BankStatementError) when it is not one
    of the versions above, or has no message id."""
    root = _parse_xml(raw)
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    schema = namespace.removeprefix(NAMESPACE_PREFIX) if namespace.startswith(NAMESPACE_PREFIX) else ""
    if qname.localname != "Document" or schema not in SUPPORTED:
        shown = namespace or "none"
        raise BankStatementError(
            "bank_statement.unsupported",
            f"Expected an ISO 20022 camt.053 or camt.054 document (versions 001.02 to 001.13); "
            f"found the namespace {shown}.",
            "file",
            message_nl=f"Verwacht een ISO 20022 camt.053- of camt.054-bestand (versie 001.02 tot 001.13); "
            f"gevonden: namespace {shown}.",
        )
    message, root_name = SUPPORTED[schema]
    ns = {"c": namespace}
    body = root.find(f"c:{root_name}", ns)
    message_id = _text(body, "c:GrpHdr/c:MsgId", ns)
    if body is None or not message_id:
        raise BankStatementError(
            "bank_statement.malformed",
            f"The {message} document has no {root_name}/GrpHdr/MsgId.",
            f"{root_name}/GrpHdr/MsgId",
            message_nl=f"Het {message}-bestand heeft geen {root_name}/GrpHdr/MsgId.",
        )
    statement_ids: list[str] = []
    accounts: list[str] = []
    transactions: list[BankTransaction] = []
    for n, block in enumerate(body.findall(f"c:{_BLOCKS[message]}", ns), start=1):
        statement_id = _text(block, "c:Id", ns) or str(n)
        statement_ids.append(statement_id)
        iban = _text(block, "c:Acct/c:Id/c:IBAN", ns)
        if iban:
            accounts.append(iban.replace(" ", "").upper())
        for m, entry in enumerate(block.findall("c:Ntry", ns), start=1):
            transactions.extend(_transactions(entry, ns, statement_id, m, len(transactions)))
    return BankStatement(
        message=message,
        schema=schema,
        message_id=message_id[:35],
        statement_ids=tuple(statement_ids),
        accounts=tuple(dict.fromkeys(accounts)),
        transactions=tuple(transactions),
    )


def _transaction_amount(detail: etree._Element, ns: dict[str, str]) -> etree._Element | None:
    """A transaction's own amount: TxDtls/Amt from .04, AmtDtls in .02 (what was booked, else instructed)."""
    for path in ("c:Amt", "c:AmtDtls/c:TxAmt/c:Amt", "c:AmtDtls/c:InstdAmt/c:Amt"):
        found = detail.find(path, ns)
        if found is not None:
            return found
    return None


def _transactions(
    entry: etree._Element, ns: dict[str, str], statement_id: str, entry_number: int, before: int
) -> list[BankTransaction]:
    """The transactions of one entry (Ntry): one per TxDtls, or the entry itself when it has none."""
    status = _text(entry, "c:Sts/c:Cd", ns) or _text(entry, "c:Sts", ns) or ""
    booking_date = _date(_text(entry, "c:BookgDt/c:Dt", ns) or _text(entry, "c:BookgDt/c:DtTm", ns))
    booking_date = booking_date or _date(_text(entry, "c:ValDt/c:Dt", ns) or _text(entry, "c:ValDt/c:DtTm", ns))
    entry_ref = (
        _text(entry, "c:AcctSvcrRef", ns) or _text(entry, "c:NtryRef", ns) or f"{statement_id}/{entry_number}"
    )[:80]
    entry_direction = _text(entry, "c:CdtDbtInd", ns) or ""
    reversal = (_text(entry, "c:RvslInd", ns) or "").lower() in ("true", "1")
    entry_code = _text(entry, "c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd", ns)
    entry_amount = _amount(entry.find("c:Amt", ns))
    details: list[etree._Element | None] = list(entry.findall("c:NtryDtls/c:TxDtls", ns)) or [None]
    found: list[BankTransaction] = []
    for detail in details:
        value, currency = entry_amount if len(details) == 1 else (None, "")
        direction, code, return_code, end_to_end_id, has_return_info = entry_direction, entry_code, None, None, False
        if detail is not None:
            own_amount = _transaction_amount(detail, ns)
            if own_amount is not None:
                value, currency = _amount(own_amount)
            direction = _text(detail, "c:CdtDbtInd", ns) or entry_direction
            code = _text(detail, "c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd", ns) or entry_code
            return_info = detail.find("c:RtrInf", ns)
            has_return_info = return_info is not None
            return_code = _text(return_info, "c:Rsn/c:Cd", ns) or _text(return_info, "c:Rsn/c:Prtry", ns)
            end_to_end_id = _text(detail, "c:Refs/c:EndToEndId", ns)
        found.append(
            BankTransaction(
                position=before + len(found) + 1,
                statement_id=statement_id[:35],
                entry_ref=entry_ref,
                booked=status == "BOOK",
                status=status[:10],
                booking_date=booking_date,
                credit_debit=direction[:4],
                returned=has_return_info or reversal or code in _RETURN_SUBFAMILIES,
                return_code=(return_code or "")[:35] or None,
                end_to_end_id=None if end_to_end_id in (None, "NOTPROVIDED") else end_to_end_id[:35],
                amount=value,
                currency=currency[:3],
            )
        )
    return found


# --- deciding -------------------------------------------------------------------------------


class Outcome(StrEnum):
    PAID = "paid"  # booked and matching: the invoice part is paid
    RETURNED = "returned"  # the bank returned it: the invoice part is payable again
    ALREADY_PAID = "already_paid"  # an earlier file (a camt.054, or this file's twin) paid it
    ALREADY_RETURNED = "already_returned"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    NOT_BOOKED = "not_booked"  # pending or information only
    NOT_A_PAYMENT = "not_a_payment"  # money came in that is not a return
    NOT_FOUND = "not_found"  # no payment-run item of this municipality has this EndToEndId
    REFUSED = "refused"  # it matched, but the invoice no longer allows it (refunded meanwhile, say)


CHANGING = (Outcome.PAID, Outcome.RETURNED)


class ItemState(StrEnum):
    OPEN = "open"  # sent to the bank, not yet paid or returned
    PAID = "paid"
    RETURNED = "returned"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    message: str


def decide(tx: BankTransaction, item_amount: Money | None, state: ItemState | None) -> Decision:
    """What a transaction means for the item it names (`item_amount`/`state` None: no such item)."""
    if item_amount is None or state is None:
        return Decision(Outcome.NOT_FOUND, "No payment-run item has this EndToEndId.")
    if not tx.booked:
        return Decision(Outcome.NOT_BOOKED, f"The entry is not booked (status {tx.status or 'none'}).")
    if tx.currency != "EUR":
        return Decision(Outcome.CURRENCY_MISMATCH, f"The transaction is in {tx.currency or 'no currency'}, not EUR.")
    if tx.amount != item_amount:
        shown = tx.amount.decimal if tx.amount is not None else "no amount"
        return Decision(Outcome.AMOUNT_MISMATCH, f"The bank booked {shown}; the payment was {item_amount.decimal}.")
    if tx.returned:
        if state is ItemState.RETURNED:
            return Decision(Outcome.ALREADY_RETURNED, "This payment was already returned.")
        return Decision(Outcome.RETURNED, return_reason(tx.return_code).en)
    if tx.credit_debit != "DBIT":
        return Decision(Outcome.NOT_A_PAYMENT, "A credit that is not a return of this payment.")
    if state is ItemState.PAID:
        return Decision(Outcome.ALREADY_PAID, "This payment was already booked as paid.")
    if state is ItemState.RETURNED:
        return Decision(Outcome.ALREADY_RETURNED, "This payment was returned; its debit changes nothing now.")
    return Decision(Outcome.PAID, "Paid.")
