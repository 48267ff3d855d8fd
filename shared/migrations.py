"""Alembic, one migration history per service, each in its own schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from shared.audit import audit_table
from shared.bus.tables import bus_tables
from shared.db import ensure_schemas
from shared.revocation import revocation_table


def alembic_config(service: str, script_location: Path, engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("service", service)
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, service: str, script_location: Path, revision: str = "head") -> None:
    ensure_schemas(engine, [service])
    command.upgrade(alembic_config(service, script_location, engine), revision)


def downgrade(engine: Engine, service: str, script_location: Path, revision: str) -> None:
    command.downgrade(alembic_config(service, script_location, engine), revision)


def revision(engine: Engine, service: str, script_location: Path, message: str, autogenerate: bool = True) -> None:
    ensure_schemas(engine, [service])
    number = len(list((script_location / "versions").glob("*.py"))) + 1
    command.revision(
        alembic_config(service, script_location, engine),
        message=message,
        autogenerate=autogenerate,
        rev_id=f"{service}_{number:04d}",
    )


def run_migrations_env(service: str) -> None:
    """Called from a service's migrations/env.py, after it imported its models."""
    bus_tables(service)  # outbox, inbox and dead letters of this schema
    audit_table(service)  # the audit trail (shared.audit)
    revocation_table(service)  # revoked partner credentials (shared.revocation)
    engine: Engine = context.config.attributes["engine"]

    def include_name(name: str | None, type_: Any, parent_names: Any) -> bool:
        if type_ == "schema":
            return name == service
        return True

    def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        if type_ == "table":
            return getattr(obj, "schema", None) == service
        return True

    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            version_table_schema=service,
            include_schemas=True,
            include_name=include_name,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
