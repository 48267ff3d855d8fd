"""Notifications HTTP routes for webhooks: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
