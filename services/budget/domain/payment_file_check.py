"""Reading a pain.001 file back: validated against the XSD of its version, and its totals (number
of transactions and control sum, per group header and payment block) checked against the transfers
it holds. `read_back_pain001` does both in one streaming pass over a file of any size; the other
two take the file as bytes (a file uploaded back, a test)."""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources
from typing import IO

from lxml import etree

from shared.errors import DomainError
from shared.money import Money, MoneyError

SUPPORTED_SCHEMAS = ("pain.001.001.09", "pain.001.001.03")
PAIN_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:pain.001.001."


class PaymentFileError(DomainError):
    """The payment run cannot become a file; `code` is stable, `field` names the input at fault."""


def validate_pain001(xml_bytes: bytes) -> str:
    """Check a pain.001 file against the XSD of the version it declares; return that version."""
    root = _parse(xml_bytes)
    schema = etree.QName(root).namespace.rsplit(":", 1)[-1]
    if schema not in SUPPORTED_SCHEMAS:
        raise PaymentFileError("payment_file.schema", f"Unsupported schema {schema!r}.", "schema")
    _validate(root, schema)
    return schema


def parse_pain001_totals(xml_bytes: bytes) -> tuple[int, Money]:
    """(number of transactions, control sum) of a pain.001 file, after checking that the group
    header and every payment block agree with the transactions they hold."""
    return _totals(_parse(xml_bytes))


# --- Reading and validating the file ------------------------------------------------------------


def _parse(xml_bytes: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml_bytes, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise PaymentFileError("payment_file.malformed", f"Not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise PaymentFileError("payment_file.malformed", "A DOCTYPE is not allowed in a payment file.")
    namespace = etree.QName(root).namespace or ""
    if not namespace.startswith(PAIN_NAMESPACE_PREFIX) or etree.QName(root).localname != "Document":
        raise PaymentFileError("payment_file.malformed", f"Not a pain.001 document (namespace {namespace!r}).")
    return root


_SCHEMA_LOCK = threading.Lock()  # an lxml schema keeps its error log on the object


@cache
def pain_schema(schema: str) -> etree.XMLSchema:
    """The XSD sepaxml ships for this pain.001 version, compiled once."""
    if schema not in SUPPORTED_SCHEMAS:
        raise PaymentFileError("payment_file.schema", f"Unsupported schema {schema!r}.", "schema")
    with resources.as_file(resources.files("sepaxml") / "schemas" / f"{schema}.xsd") as xsd_path:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.XMLSchema(etree.parse(str(xsd_path), parser))


def _validate(root: etree._Element, schema: str) -> None:
    if etree.QName(root).namespace != f"urn:iso:std:iso:20022:tech:xsd:{schema}":
        raise PaymentFileError("payment_file.schema_invalid", f"The file is not a {schema} document.")
    xsd = pain_schema(schema)
    with _SCHEMA_LOCK:
        if xsd.validate(root):
            return
        first = xsd.error_log[0]
        message, path = first.message, first.path
    raise PaymentFileError("payment_file.schema_invalid", f"The file does not match {schema}: {message}", path)


def read_back_pain001(source: IO[bytes], schema: str) -> tuple[int, Money]:
    """Validate a file against the XSD of `schema` and add up its transfers, in one streaming read:
    each transfer is dropped once counted, so memory stays flat however large the file. The same
    checks as `_totals`: every payment block and the group header agree with their transfers."""
    ns = f"{{urn:iso:std:iso:20022:tech:xsd:{schema}}}"
    transfer, block, header = f"{ns}CdtTrfTxInf", f"{ns}PmtInf", f"{ns}GrpHdr"
    amount_path = f"{ns}Amt/{ns}InstdAmt"
    count = cents = block_count = block_cents = 0
    stated_header: dict[str, str] | None = None
    with _SCHEMA_LOCK:
        # Only these three tags come back to Python (one event per transfer); libxml2 validates
        # every element as it parses.
        events = etree.iterparse(
            source,
            events=("end",),
            tag=(transfer, block, header),
            schema=pain_schema(schema),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=True,
        )
        try:
            for _, element in events:
                if element.tag == transfer:
                    instructed = element.find(amount_path)
                    if instructed is None:
                        raise PaymentFileError("payment_file.malformed", "A transfer without an instructed amount.")
                    if instructed.get("Ccy") != "EUR":
                        raise PaymentFileError(
                            "payment_file.currency", f"A transfer in {instructed.get('Ccy')!r}, not EUR."
                        )
                    block_count += 1
                    block_cents += _amount(instructed, "InstdAmt").cents
                    element.clear()  # counted; the one before goes too
                    previous = element.getprevious()
                    if previous is not None and previous.tag == transfer:
                        element.getparent().remove(previous)
                elif element.tag == block:
                    _check_stated(_stated(element, ns), "A payment block's", block_count, block_cents)
                    count, cents, block_count, block_cents = count + block_count, cents + block_cents, 0, 0
                    element.clear()
                else:
                    stated_header = _stated(element, ns)
        except etree.XMLSyntaxError as exc:
            raise PaymentFileError("payment_file.schema_invalid", f"The file does not match {schema}: {exc}") from exc
    if stated_header is None or "NbOfTxs" not in stated_header:
        raise PaymentFileError("payment_file.malformed", "The file has no group header with a number of transactions.")
    _check_stated(stated_header, "The group header's", count, cents)
    return count, Money(cents)


def _stated(element: etree._Element, ns: str) -> dict[str, str]:
    """NbOfTxs and CtrlSum as a group header or payment block states them."""
    return {
        name: found.text or "" for name in ("NbOfTxs", "CtrlSum") if (found := element.find(f"{ns}{name}")) is not None
    }


def _amount(element: etree._Element, what: str) -> Money:
    try:
        return Money.euros((element.text or "").strip())
    except MoneyError as exc:
        raise PaymentFileError("payment_file.amount", f"{what} {element.text!r} is not an amount in cents.") from exc


def _check_stated(stated: dict[str, str], what: str, count: int, cents: int) -> None:
    if "NbOfTxs" in stated:
        text = stated["NbOfTxs"].strip()
        if not text.isdigit():
            raise PaymentFileError("payment_file.malformed", f"NbOfTxs {text!r} is not a number of transactions.")
        if int(text) != count:
            raise PaymentFileError(
                "payment_file.totals_mismatch", f"{what} NbOfTxs says {text}, the transactions add up to {count}."
            )
    if "CtrlSum" in stated:
        try:
            stated_sum = Money.euros(stated["CtrlSum"].strip())
        except MoneyError as exc:
            raise PaymentFileError("payment_file.amount", f"CtrlSum {stated['CtrlSum']!r} is not an amount.") from exc
        if stated_sum.cents != cents:
            raise PaymentFileError(
                "payment_file.totals_mismatch",
                f"{what} CtrlSum says {stated['CtrlSum']}, the transactions add up to {Money(cents)}.",
            )


def _totals(root: etree._Element) -> tuple[int, Money]:
    ns = {"p": etree.QName(root).namespace}

    def amount(el: etree._Element, what: str) -> Money:
        try:
            return Money.euros((el.text or "").strip())
        except MoneyError as exc:
            raise PaymentFileError("payment_file.amount", f"{what} {el.text!r} is not an amount in cents.") from exc

    def number(el: etree._Element, what: str) -> int:
        text = (el.text or "").strip()
        if not text.isdigit():
            raise PaymentFileError("payment_file.malformed", f"{what} {el.text!r} is not a number of transactions.")
        return int(text)

    def mismatch(what: str, stated: object, actual: object) -> PaymentFileError:
        return PaymentFileError(
            "payment_file.totals_mismatch", f"{what} says {stated}, the transactions add up to {actual}."
        )

    initiation = root.find("p:CstmrCdtTrfInitn", ns)
    header = None if initiation is None else initiation.find("p:GrpHdr", ns)
    if header is None or header.find("p:NbOfTxs", ns) is None:
        raise PaymentFileError("payment_file.malformed", "The file has no group header with a number of transactions.")
    all_amounts: list[Money] = []
    for block in initiation.findall("p:PmtInf", ns):
        amounts = []
        for instructed in block.iterfind("p:CdtTrfTxInf/p:Amt/p:InstdAmt", ns):
            if instructed.get("Ccy") != "EUR":
                raise PaymentFileError("payment_file.currency", f"A transfer in {instructed.get('Ccy')!r}, not EUR.")
            amounts.append(amount(instructed, "InstdAmt"))
        block_count, block_sum = block.find("p:NbOfTxs", ns), block.find("p:CtrlSum", ns)
        if block_count is not None and number(block_count, "NbOfTxs") != len(amounts):
            raise mismatch("A payment block's NbOfTxs", block_count.text, len(amounts))
        if block_sum is not None and amount(block_sum, "CtrlSum") != Money.total(amounts):
            raise mismatch("A payment block's CtrlSum", block_sum.text, Money.total(amounts))
        all_amounts.extend(amounts)
    count = number(header.find("p:NbOfTxs", ns), "NbOfTxs")
    control_sum = Money.total(all_amounts)
    if count != len(all_amounts):
        raise mismatch("The group header's NbOfTxs", count, len(all_amounts))
    stated_sum = header.find("p:CtrlSum", ns)
    if stated_sum is not None and amount(stated_sum, "CtrlSum") != control_sum:
        raise mismatch("The group header's CtrlSum", stated_sum.text, control_sum)
    return count, control_sum
