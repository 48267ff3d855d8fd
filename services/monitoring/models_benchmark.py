"""Tables of the monitoring service for benchmark (schema "monitoring")."""

from __future__ import annotations
