"""The shape every service keeps (docs/architecture.md, "Where things go"), checked on the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from eigenregie.bootstrap import SERVICES

REPO = Path(__file__).resolve().parents[2]
SERVICE_FILES = ("api.py", "commands.py", "queries.py", "handlers.py", "jobs.py", "repository.py", "permissions.py",
                 "models.py", "service.py", "tasks.py", "domain/__init__.py")
MAX_LINES = 550
SERVICE_NAME = re.compile(r"\b(" + "|".join(SERVICES) + r")\b", re.IGNORECASE)


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_in_shared_names_a_service_not_even_in_a_string_or_comment():
    offenders = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in _python_files(REPO / "shared")
                 for n, line in enumerate(p.read_text().splitlines(), 1) if SERVICE_NAME.search(line)]
    assert not offenders, "\n".join(offenders)


def test_shared_and_contracts_import_no_service_and_not_the_composition_root():
    for folder in ("shared", "contracts"):
        for path in _python_files(REPO / folder):
            bad = {m for m in _imports(path) if m.split(".")[0] in ("services", "eigenregie")}
            assert not bad, f"{path.relative_to(REPO)} imports {bad}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_files(service):
    folder = REPO / "services" / service
    missing = [name for name in SERVICE_FILES if not (folder / name).is_file()]
    assert not missing, f"services/{service} lacks {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another_or_the_composition_root(service):
    for path in _python_files(REPO / "services" / service):
        for module in _imports(path):
            parts = module.split(".")
            assert parts[0] != "eigenregie", f"{path.relative_to(REPO)} imports the composition root"
            if parts[0] == "services" and len(parts) > 1:
                assert parts[1] == service, f"{path.relative_to(REPO)} imports {module}"


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_file_is_longer_than_about_five_hundred_lines(service):
    long = {str(p.relative_to(REPO)): n for p in _python_files(REPO / "services" / service)
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


@pytest.mark.parametrize("service", SERVICES)
def test_services_take_time_from_the_clock_not_from_the_system(service):
    system_time = re.compile(r"\b(date\.today|datetime\.now|datetime\.utcnow|time\.time)\(")
    offenders = [f"{p.relative_to(REPO)}:{n}" for p in _python_files(REPO / "services" / service)
                 for n, line in enumerate(p.read_text().splitlines(), 1) if system_time.search(line)]
    assert not offenders, offenders


@pytest.mark.parametrize("service", SERVICES)
def test_domain_code_knows_no_database_web_framework_or_broker(service):
    for path in _python_files(REPO / "services" / service / "domain"):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("sqlmodel", "sqlalchemy", "fastapi", "celery",
                                                                "starlette")}
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


@pytest.mark.parametrize("service", SERVICES)
def test_services_raise_domain_errors_not_http_problems(service):
    for path in _python_files(REPO / "services" / service):
        if path.name == "api.py":
            continue
        assert "shared.problems" not in _imports(path), f"{path.relative_to(REPO)} raises HTTP problems"
