"""Text that people type: names, references and free text, without control characters.

A NUL byte or another control character in a name ends up in letters, payment files and
other systems' databases (PostgreSQL refuses NUL outright). Input models use these types
instead of a bare `str`, so such text is a 422 naming the field, never stored.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# C0 and C1 control characters, DEL, and the Unicode line/paragraph separators; tabs and
# newlines are allowed in free text only.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = re.compile(r"[\t\n\r]")


def _without_controls(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains a control character (such as NUL); remove it")
    return value


def _single_line(value: str) -> str:
    _without_controls(value)
    if _LINE_BREAKS.search(value):
        raise ValueError("must be on one line (no tabs or line breaks)")
    return value


def normalised(value: str) -> str:
    """NFC, so the same name typed on two keyboards compares equal."""
    return unicodedata.normalize("NFC", value)


# A name, a reference, a number: one line.
Line = Annotated[str, AfterValidator(_single_line), AfterValidator(normalised)]
# Free text (a motivation, a reason): line breaks and tabs allowed.
FreeText = Annotated[str, AfterValidator(_without_controls), AfterValidator(normalised)]
