"""Jinja2 templates of the intake domain (a package so the templates ship with it)."""
