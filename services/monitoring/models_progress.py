"""Tables of the monitoring service for progress (schema "monitoring")."""

from __future__ import annotations
