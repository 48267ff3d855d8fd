import services.intake.models  # the tables this history describes (models_partners: the partner tables)
import services.intake.models_partners  # noqa: F401
from shared.migrations import run_migrations_env

run_migrations_env("intake")
