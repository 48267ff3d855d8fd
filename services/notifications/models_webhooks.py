"""Tables of the notifications service for webhooks (schema "notifications")."""

from __future__ import annotations
