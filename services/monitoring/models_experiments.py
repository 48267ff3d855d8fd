"""Tables of the monitoring service for experiments (schema "monitoring")."""

from __future__ import annotations
