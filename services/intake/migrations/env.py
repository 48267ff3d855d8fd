import services.intake.models  # noqa: F401 - the tables this history describes
from shared.migrations import run_migrations_env

run_migrations_env("intake")
