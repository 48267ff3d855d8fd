"""Exports people can download: a budget statement (CSV, PDF) and a bulk upload's results."""

from __future__ import annotations

import csv
import io
from typing import Any

from fpdf import FPDF

from services.budget.models import BudgetPublic, InvoicePublic

_STATUS_NL = {
    "received": "ontvangen",
    "awaiting_client": "wacht op uw akkoord",
    "awaiting_second_approval": "tweede akkoord",
    "approved": "goedgekeurd",
    "scheduled": "in betaalrun",
    "paid": "betaald",
    "rejected": "afgewezen",
    "review": "te laat, wordt beoordeeld",
}


def statement_csv(budget: BudgetPublic, invoices: list[InvoicePublic]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            "section",
            "id",
            "category",
            "provider",
            "granted",
            "invoiced",
            "approved",
            "held",
            "paid",
            "remaining",
            "status",
        ]
    )
    for line in budget.lines:
        writer.writerow(
            [
                "line",
                line.id,
                line.category,
                line.provider_name or "",
                line.granted,
                line.invoiced,
                line.approved,
                line.held,
                line.paid,
                line.remaining,
                line.status,
            ]
        )
    writer.writerow(
        [
            "total",
            budget.id,
            "",
            "",
            budget.granted,
            budget.invoiced,
            budget.approved,
            budget.held,
            budget.paid,
            budget.remaining,
            budget.status,
        ]
    )
    writer.writerow([])
    writer.writerow(
        [
            "section",
            "invoice id",
            "line",
            "provider",
            "invoice number",
            "amount excl. VAT",
            "VAT",
            "charged to budget",
            "held back",
            "status",
            "paid on",
        ]
    )
    for inv in invoices:
        writer.writerow(
            [
                "invoice",
                inv.id,
                inv.budget_line_id,
                inv.provider_name,
                inv.invoice_number,
                inv.amount_excl_vat,
                inv.vat,
                inv.amount,
                inv.held,
                inv.status,
                inv.paid_on or "",
            ]
        )
    return out.getvalue()


def batch_results_csv(results: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out,
        fieldnames=["index", "reference", "status", "invoice_id", "code", "field", "message"],
        delimiter=";",
        extrasaction="ignore",
    )
    writer.writeheader()
    writer.writerows(results)
    return out.getvalue()


def _eur(value: Any) -> str:
    return f"EUR {value}"


def statement_pdf(budget: BudgetPublic, invoices: list[InvoicePublic], language: str) -> bytes:
    nl = language == "nl"
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, "Overzicht van uw budget" if nl else "Your budget statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    rows = [
        ("Toegekend" if nl else "Granted", budget.granted),
        ("Goedgekeurd" if nl else "Approved", budget.approved),
        ("Ingehouden" if nl else "Held back", budget.held),
        ("Betaald" if nl else "Paid", budget.paid),
        ("Nog te besteden" if nl else "Remaining", budget.remaining),
    ]
    for label, value in rows:
        pdf.cell(60, 7, label)
        pdf.cell(0, 7, _eur(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.multi_cell(0, 6, ("Uitvoeren tot " if nl else "Carry out until ") + budget.execution_deadline.isoformat())
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 8, "Rekeningen" if nl else "Invoices", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for inv in invoices:
        status = _STATUS_NL.get(inv.status, inv.status) if nl else inv.status.replace("_", " ")
        text = f"{inv.invoice_number}  {inv.provider_name[:40]}  {_eur(inv.total)}  {status}"
        pdf.multi_cell(0, 6, text.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
