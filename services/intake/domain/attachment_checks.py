"""The rules for attached files: which kinds, how large, how named; checked on upload and
again on every attachment a plan lists."""

from __future__ import annotations

import re

from services.intake.domain.errors import AttachmentRejected
from services.intake.domain.findings import Finding, Severity
from services.intake.domain.policy import has_control_characters
from services.intake.domain.reintegration_plan import ReintegrationPlan

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # 10 MiB
# Content type -> the file name endings that may carry it.
ALLOWED_ATTACHMENT_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "application/xml": (".xml",),  # UBL e-invoices and quotes
    "text/xml": (".xml",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_attachment(filename: str, content_type: str, size: int, *, field: str = "attachment") -> list[Finding]:
    """Every reason to refuse this file; an empty list means it may be stored."""
    findings: list[Finding] = []
    name = filename or ""
    if not name.strip() or "/" in name or "\\" in name or name.startswith(".") or has_control_characters(name):
        findings.append(
            Finding(
                "attachment.bad_filename",
                Severity.BLOCK,
                f"{field}.filename",
                "De bestandsnaam is niet goed. Geef het bestand een gewone naam, zoals offerte.pdf.",
                "The file name is not valid. Give the file a plain name, such as quote.pdf.",
            )
        )
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    allowed_endings = ALLOWED_ATTACHMENT_TYPES.get(kind)
    if allowed_endings is None:
        findings.append(
            Finding(
                "attachment.type_not_allowed",
                Severity.BLOCK,
                f"{field}.content_type",
                "Dit soort bestand kunnen we niet aannemen. Stuur een PDF, PNG, JPEG, Word-bestand (.docx) of "
                "UBL-factuur (XML).",
                "We cannot accept this kind of file. Send a PDF, PNG, JPEG, Word file (.docx) or UBL invoice (XML).",
            )
        )
    elif not name.lower().endswith(allowed_endings):
        findings.append(
            Finding(
                "attachment.extension_mismatch",
                Severity.BLOCK,
                f"{field}.filename",
                f"De naam van het bestand past niet bij het soort bestand. Verwacht: {' of '.join(allowed_endings)}.",
                f"The file name does not match the kind of file. Expected: {' or '.join(allowed_endings)}.",
            )
        )
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        findings.append(
            Finding(
                "attachment.empty",
                Severity.BLOCK,
                f"{field}.size",
                "Het bestand is leeg. Kies het bestand opnieuw.",
                "The file is empty. Please choose the file again.",
            )
        )
    elif size > MAX_ATTACHMENT_BYTES:
        limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
        findings.append(
            Finding(
                "attachment.too_large",
                Severity.BLOCK,
                f"{field}.size",
                f"Het bestand is te groot. Een bestand mag hoogstens {limit} MB zijn.",
                f"The file is too large. A file may be at most {limit} MB.",
            )
        )
    return findings


def ensure_attachment_allowed(filename: str, content_type: str, size: int) -> None:
    """For an upload endpoint: raise `AttachmentRejected` with the first reason, if any."""
    findings = check_attachment(filename, content_type, size)
    if findings:
        first = findings[0]
        raise AttachmentRejected(first.code, first.message_en, first.field)


def check_plan_attachments(plan: ReintegrationPlan) -> list[Finding]:
    findings = []
    seen: set[str] = set()
    for i, attachment in enumerate(plan.attachments):
        path = f"attachments[{i}]"
        if attachment.id in seen:
            findings.append(
                Finding(
                    "attachment.duplicate_id",
                    Severity.BLOCK,
                    f"{path}.id",
                    "Deze bijlage staat er twee keer in.",
                    "This attachment is listed twice.",
                )
            )
        seen.add(attachment.id)
        findings += check_attachment(attachment.filename, attachment.content_type, attachment.size, field=path)
        if not _SHA256.match(attachment.sha256 or ""):
            findings.append(
                Finding(
                    "attachment.checksum_invalid",
                    Severity.BLOCK,
                    f"{path}.sha256",
                    "Er ging iets mis met deze bijlage. Voeg het bestand opnieuw toe.",
                    "Something went wrong with this attachment. Please add the file again.",
                )
            )
    return findings
