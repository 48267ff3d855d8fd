"""The public SI-UBL examples, read at test time from ../shared/testdata, and changed in memory.

Nothing from those files is kept in the repository: every test starts from the real document
and makes one change (an element added, removed or altered, always in schema order).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lxml import etree

from tests.support.environment import unavailable

EINVOICES = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "einvoices"
MINIMAL = "SI-UBL-2.0_ok_minimal.xml"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}
# Well-formed identifiers in place of the examples' placeholders (which fail their checks on purpose).
GOOD_IBAN = "NL91ABNA0417164300"
GOOD_KVK = "69639087"
GOOD_VAT = "NL004495445B01"


def require_examples() -> Path:
    """The examples directory; a skip here, a failure in CI (PRB_REQUIRE_SERVICES=1)."""
    if not EINVOICES.is_dir():
        unavailable(f"the shared SI-UBL examples are not at {EINVOICES}")
    return EINVOICES


def ok_example_names() -> list[str]:
    return sorted(p.name for p in EINVOICES.glob("*_ok_*.xml")) if EINVOICES.is_dir() else []


def load(name: str = MINIMAL, *, payable: bool = True) -> etree._Element:
    """The example as a tree; `payable` swaps its placeholder IBAN, KvK and VAT number for valid ones."""
    root = etree.fromstring((require_examples() / name).read_bytes())
    if payable:
        for el in root.iterfind(".//cac:PayeeFinancialAccount/cbc:ID", NS):
            el.text = GOOD_IBAN
        for el in root.iterfind("cac:AccountingSupplierParty//cbc:CompanyID", NS):
            el.text = GOOD_KVK if el.get("schemeID") == "0106" else GOOD_VAT
    return root


def xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def find(root: etree._Element, path: str) -> etree._Element:
    el = root.find(path, NS)
    assert el is not None, f"{path} is not in the example"
    return el


def fragment(markup: str) -> list[etree._Element]:
    wrapper = etree.fromstring(f'<w xmlns:cac="{CAC}" xmlns:cbc="{CBC}">{markup}</w>')
    return list(wrapper)


def insert_before(root: etree._Element, sibling_path: str, markup: str) -> etree._Element:
    sibling = find(root, sibling_path)
    for el in fragment(markup):
        sibling.addprevious(el)
    return root


def insert_after(root: etree._Element, sibling_path: str, markup: str) -> etree._Element:
    sibling = find(root, sibling_path)
    for el in reversed(fragment(markup)):
        sibling.addnext(el)
    return root


def append_to(root: etree._Element, parent_path: str, markup: str) -> etree._Element:
    parent = root if parent_path == "." else find(root, parent_path)
    for el in fragment(markup):
        parent.append(el)
    return root


def remove(root: etree._Element, path: str) -> etree._Element:
    el = find(root, path)
    el.getparent().remove(el)
    return root


def changed(change: Callable[[etree._Element], object], name: str = MINIMAL, *, payable: bool = True) -> bytes:
    root = load(name, payable=payable)
    change(root)
    return xml(root)


def as_credit_note(
    root: etree._Element,
    credits: str | None = "12115118",
    number: str = "CN-12115118-1",
) -> etree._Element:
    """The invoice turned into the UBL CreditNote that credits it in full (type 381, same totals)."""
    raw = etree.tostring(root).decode()
    raw = (
        raw.replace(INVOICE_NS, CREDIT_NOTE_NS)
        .replace("<Invoice", "<CreditNote")
        .replace("</Invoice>", "</CreditNote>")
        .replace("cbc:InvoiceTypeCode>380<", "cbc:InvoiceTypeCode>381<")
        .replace("cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode")
        .replace("cac:InvoiceLine", "cac:CreditNoteLine")
        .replace("cbc:InvoicedQuantity", "cbc:CreditedQuantity")
    )
    note = etree.fromstring(raw)
    find(note, "cbc:ID").text = number
    due = note.find("cbc:DueDate", NS)
    if due is not None:  # a CreditNote has no header due date
        note.remove(due)
    if credits is not None:
        insert_after(
            note,
            "cac:OrderReference",
            "<cac:BillingReference><cac:InvoiceDocumentReference>"
            f"<cbc:ID>{credits}</cbc:ID></cac:InvoiceDocumentReference></cac:BillingReference>",
        )
    return note


def set_amounts(root: etree._Element, *, net: str, vat: str) -> etree._Element:
    """Make a one-line document (the minimal example) charge `net` plus `vat`, totals consistent."""
    from decimal import Decimal

    total = str(Decimal(net) + Decimal(vat))
    line = root.find("cac:InvoiceLine", NS)
    if line is None:
        line = find(root, "cac:CreditNoteLine")
    find(line, "cbc:LineExtensionAmount").text = net
    find(line, "cac:Price/cbc:PriceAmount").text = net
    find(root, "cac:TaxTotal/cbc:TaxAmount").text = vat
    find(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount").text = net
    find(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount").text = vat
    for name, value in (
        ("LineExtensionAmount", net),
        ("TaxExclusiveAmount", net),
        ("TaxInclusiveAmount", total),
        ("PayableAmount", total),
    ):
        find(root, f"cac:LegalMonetaryTotal/cbc:{name}").text = value
    return root
