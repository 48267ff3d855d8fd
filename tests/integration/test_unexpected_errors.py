"""Numbers that would overflow a query are refused; an unexpected error is answered and logged once;
a database that cannot be reached is a 503 to retry, not a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from eigenregie.bootstrap import build_runtime, load_all_services
from eigenregie.entrypoints.web import create_app
from shared.config import Settings
from shared.identifiers import INT32_MAX
from shared.problems import install_problem_handlers
from tests.support.auth import auth
from tests.support.environment import free_port
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

KM = auth("case_manager", "0014")


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("numbers"), environment="test"))
    return api_client(runtime)


@pytest.mark.parametrize("number", ["99999999999999999999", str(INT32_MAX + 1), "3000000000", "0", "-1"])
def test_a_version_number_out_of_range_is_a_422_not_a_500(http, number):
    r = http.get(f"/intake/v1/plans/some-plan/versions/{number}", headers=KM)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "number"


def test_a_version_number_in_range_that_does_not_exist_is_a_404(http):
    assert http.get(f"/intake/v1/plans/some-plan/versions/{INT32_MAX}", headers=KM).status_code == 404


def _integers_without_maximum(schema: dict[str, Any], components: dict[str, Any], where: str,
                              seen: set[str]) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _integers_without_maximum(components[name], components, name, seen)
    found = []
    if schema.get("type") == "integer" and "maximum" not in schema and "exclusiveMaximum" not in schema \
            and "enum" not in schema:
        found.append(where)
    for key in ("anyOf", "oneOf", "allOf"):
        for n, sub in enumerate(schema.get(key, [])):
            found += _integers_without_maximum(sub, components, f"{where}[{n}]", seen)
    if "items" in schema:
        found += _integers_without_maximum(schema["items"], components, f"{where}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        found += _integers_without_maximum(sub, components, f"{where}.{name}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        found += _integers_without_maximum(schema["additionalProperties"], components, f"{where}.*", seen)
    return found


def test_every_integer_a_request_may_send_has_a_maximum_in_every_service():
    unbounded = []
    for spec in load_all_services():
        app = FastAPI()
        app.include_router(spec.router)
        document = app.openapi()
        components = document.get("components", {}).get("schemas", {})
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                where = f"{spec.name} {method.upper()} {path}"
                for parameter in operation.get("parameters", []):
                    unbounded += _integers_without_maximum(parameter.get("schema", {}), components,
                                                           f"{where} {parameter['name']}", set())
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    unbounded += _integers_without_maximum(content.get("schema", {}), components, where, set())
    assert not unbounded, unbounded


def _app_that_fails() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return app


def test_an_unexpected_error_is_answered_as_a_problem_and_logged_exactly_once():
    # raise_server_exceptions=True: had the app re-raised the error, the server would log it again.
    client = TestClient(_app_that_fails(), raise_server_exceptions=True)
    with capture_logs() as logs:
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["instance"] == "/boom"
    assert [entry["event"] for entry in logs] == ["http.unhandled_error"]


def test_an_unexpected_error_in_a_mounted_service_is_logged_once(tmp_path):
    runtime = build_runtime(Settings(data_dir=tmp_path, environment="test"))
    root = create_app(runtime, embedded=False)
    root.mount("/failing", _app_that_fails())
    client = TestClient(root, raise_server_exceptions=True)
    with capture_logs() as logs:
        r = client.get("/failing/boom")
    assert r.status_code == 500
    assert r.json()["instance"] == "/failing/boom"  # the path as sent, not the mount prefix twice
    assert [entry["event"] for entry in logs].count("http.unhandled_error") == 1


def test_a_database_that_cannot_be_reached_answers_503_with_retry_after():
    settings = Settings(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere",
                        environment="test")
    client = TestClient(create_app(build_runtime(settings), embedded=False),
                        raise_server_exceptions=True)
    r = client.get("/budget/v1/budgets", headers=auth("finance", "0014"))
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"]
    assert r.headers["content-type"] == "application/problem+json"
