"""Alembic, one migration history per service, each in its own schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from shared.db import ensure_schemas

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service: str, engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("service", service)
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, service: str, revision: str = "head") -> None:
    ensure_schemas(engine)
    command.upgrade(alembic_config(service, engine), revision)


def downgrade(engine: Engine, service: str, revision: str) -> None:
    command.downgrade(alembic_config(service, engine), revision)


def revision(engine: Engine, service: str, message: str, autogenerate: bool = True) -> None:
    ensure_schemas(engine)
    versions = SERVICES_DIR / service / "migrations" / "versions"
    number = len(list(versions.glob("*.py"))) + 1
    command.revision(alembic_config(service, engine), message=message, autogenerate=autogenerate,
                     rev_id=f"{service}_{number:04d}")


def run_migrations_env(service: str) -> None:
    """Called from services/<name>/migrations/env.py."""
    importlib_models(service)
    engine: Engine = context.config.attributes["engine"]

    def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
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


def importlib_models(service: str) -> None:
    import importlib

    import shared.bus.tables  # noqa: F401 - outbox, inbox and dead letters of every schema

    importlib.import_module(f"services.{service}.models")
