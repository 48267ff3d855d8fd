"""Dutch and European identifiers, checked by python-stdnum and schwifty (never by hand)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import exceptions as stdnum_exceptions
from stdnum.eu import vat as eu_vat
from stdnum.nl import bsn as nl_bsn


class IdentifierError(ValueError):
    """An identifier that fails its format or check digit."""


def validate_bsn(value: str) -> str:
    """Return the compact 9-digit BSN, or raise if it fails the 11-test."""
    try:
        return nl_bsn.validate(value)
    except stdnum_exceptions.ValidationError as exc:
        raise IdentifierError("not a valid BSN (fails the 11-test or has the wrong length)") from exc


def is_valid_bsn(value: str) -> bool:
    return nl_bsn.is_valid(value)


def validate_iban(value: str) -> str:
    """Return the compact IBAN, or raise if its checksum or country format is wrong."""
    try:
        return IBAN(value).compact
    except (SchwiftyException, ValueError) as exc:
        raise IdentifierError("not a valid IBAN") from exc


def validate_kvk(value: str) -> str:
    """KvK numbers are 8 digits (stdnum has no KvK module; its format is all there is)."""
    compact = value.replace(" ", "").strip()
    if len(compact) != 8 or not compact.isdigit():
        raise IdentifierError("a KvK number has 8 digits")
    return compact


def validate_vat(value: str) -> str:
    """An EU VAT number such as NL123456789B01, checked by stdnum's per-country rules."""
    try:
        return eu_vat.validate(value)
    except stdnum_exceptions.ValidationError as exc:
        raise IdentifierError("not a valid EU VAT number") from exc


def mask_bsn(value: str) -> str:
    """For screens that must show which BSN without showing it: *****1234."""
    return "*" * (len(value) - 4) + value[-4:] if len(value) > 4 else "*" * len(value)


def _bsn(value: str) -> str:
    return validate_bsn(value)


def _iban(value: str) -> str:
    return validate_iban(value)


def _kvk(value: str) -> str:
    return validate_kvk(value)


def _vat(value: str) -> str:
    return validate_vat(value)


# For pydantic models: the value arrives compacted and checked, or the request fails 422.
BSN = Annotated[str, AfterValidator(_bsn)]
IBANStr = Annotated[str, AfterValidator(_iban)]
KvK = Annotated[str, AfterValidator(_kvk)]
VATNumber = Annotated[str, AfterValidator(_vat)]


# The largest value a 32-bit database integer column holds: every integer a request may send
# (a version number, a count) is checked against it, so none can overflow a query (422, not 500).
INT32_MAX = 2_147_483_647
