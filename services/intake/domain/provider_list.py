"""UWV's list of contracted reintegration companies (rio/iro), as a CSV file: the companies a
municipality's clients may choose from. Read into the policy's `contracted_providers` (name and
KvK number), all or nothing: one bad row refuses the file, naming the row and the column."""

from __future__ import annotations

import csv
import io

from shared.errors import RuleBroken
from shared.identifiers import IdentifierError, validate_kvk

MAX_FILE_BYTES = 1024 * 1024
MAX_PROVIDERS = 5000
KVK_HEADERS = {"kvk", "kvk-nummer", "kvknummer", "kvk nummer", "kvk_number", "chamber of commerce"}
NAME_HEADERS = {"naam", "name", "bedrijfsnaam", "organisatie", "organisation", "re-integratiebedrijf"}


def _refused(message: str, message_nl: str, field: str = "file") -> RuleBroken:
    return RuleBroken("provider_list.invalid", message, field, message_nl=message_nl)


def _text(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise _refused("The file is larger than 1 MiB.", "Het bestand is groter dan 1 MiB.")
    for encoding in ("utf-8-sig", "cp1252"):  # Excel saves CSV as either
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refused("The file is not text (UTF-8 or Windows-1252).", "Het bestand is geen tekst.")  # pragma: no cover


def parse_provider_list(raw: bytes) -> list[dict[str, str]]:
    """The companies in the file, in its order: [{"name", "kvk"}]. Semicolons or commas; a header row
    naming the KvK number and the name columns (Dutch or English)."""
    text = _text(raw)
    if not text.strip():
        raise _refused("The file is empty.", "Het bestand is leeg.")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    header = [cell.strip().lower() for cell in rows[0]]
    kvk_at = next((i for i, name in enumerate(header) if name in KVK_HEADERS), None)
    name_at = next((i for i, name in enumerate(header) if name in NAME_HEADERS), None)
    if kvk_at is None or name_at is None:
        raise _refused(
            "The first row must name the columns: a KvK number (`kvk`) and a name (`naam` or `name`).",
            "De eerste regel moet de kolommen noemen: een KvK-nummer (`kvk`) en een naam (`naam`).",
        )
    found: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(found) >= MAX_PROVIDERS:
            raise _refused(f"At most {MAX_PROVIDERS} companies.", f"Hoogstens {MAX_PROVIDERS} bedrijven.")
        cells = row + [""] * (max(kvk_at, name_at) + 1 - len(row))
        name, kvk = cells[name_at].strip(), cells[kvk_at].strip()
        if not name:
            raise _refused(
                f"Row {number}: the name is empty.", f"Regel {number}: de naam is leeg.", f"row {number}.name"
            )
        try:
            kvk = validate_kvk(kvk)
        except IdentifierError as exc:
            raise _refused(
                f"Row {number}: {kvk!r} is not a KvK number ({exc}).",
                f"Regel {number}: {kvk!r} is geen KvK-nummer (8 cijfers).",
                f"row {number}.kvk",
            ) from exc
        if kvk in seen:
            raise _refused(
                f"Row {number}: KvK number {kvk} is also on row {seen[kvk]}.",
                f"Regel {number}: KvK-nummer {kvk} staat ook op regel {seen[kvk]}.",
                f"row {number}.kvk",
            )
        seen[kvk] = number
        found.append({"name": name[:200], "kvk": kvk})
    if not found:
        raise _refused("The file names no companies.", "Het bestand noemt geen bedrijven.")
    return found
