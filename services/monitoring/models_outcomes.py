"""Tables of the monitoring service for outcomes (schema "monitoring")."""

from __future__ import annotations
