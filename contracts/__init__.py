"""Contracts between the services: the events they publish (no behaviour)."""
