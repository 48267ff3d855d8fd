"""The ops pages (issue 12). Routes call the APIs through pages.api(); no rules here."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
