"""Notifications' commands, one function each: authorise, load, ask the domain, store, commit.

None comes in over HTTP yet: messages are made by event handlers (handlers.py). Issue 11 puts
its commands here (sending a message, marking it read, a partner's webhook subscription), in
the pattern of services/monitoring/commands.py.
"""

from __future__ import annotations
