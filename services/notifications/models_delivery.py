"""Tables of the notifications service for delivery (schema "notifications")."""

from __future__ import annotations
