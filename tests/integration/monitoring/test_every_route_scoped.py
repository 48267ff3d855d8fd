"""Every monitoring route, called with another municipality's ids, answers 403 or 404 (or refuses
the body) and changes nothing: taken from the OpenAPI document, so a new route is covered the day
it is added."""

from __future__ import annotations

import datetime
import hashlib
import re
import uuid

import pytest
import sqlalchemy as sa

from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client, make_case

OWN = auth("team_lead", "0014")
OTHERS = [auth(role, "0344") for role in ("team_lead", "case_manager", "policy")]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from shared.config import Settings

    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("scoped"), environment="test"))
    http = api_client(runtime)
    case = make_case(http, runtime, "0014", 901)
    make_case(http, runtime, "0344", 911)
    experiment = http.post(
        "/monitoring/v1/experiments",
        headers=OWN,
        json={
            "name": "Meer vrijheid",
            "assignment": "lottery",
            "groups": [{"key": "control", "name": "Controle", "control": True}, {"key": "free", "name": "Vrij"}],
        },
    )
    assert experiment.status_code == 201, experiment.text
    return runtime, http, case, experiment.json()["id"]


def _snapshot(runtime) -> str:
    digest = hashlib.sha256()
    inspector = sa.inspect(runtime.engine)
    with runtime.engine.connect() as conn:
        for table in sorted(inspector.get_table_names(schema="monitoring")):
            rows = conn.execute(sa.text(f'SELECT * FROM monitoring."{table}"')).all()
            digest.update(table.encode() + repr(sorted(map(repr, rows))).encode())
    return digest.hexdigest()


def _example(schema: dict, spec: dict, today: str):
    """A value the schema accepts (required fields only), so a write reaches its lookup instead of
    stopping at validation: the 404 is then the route's own answer."""
    if "$ref" in schema:
        return _example(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], spec, today)
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return _example(options[0], spec, today) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _example(props[name], spec, today) for name in schema.get("required", [])}
    if kind == "array":
        return [_example(schema.get("items", {}), spec, today)] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return today
    return "x" * max(1, schema.get("minLength", 1))


def _routes(http) -> list[tuple[str, str, object]]:
    spec = http.get("/monitoring/v1/openapi.json").json()
    today = datetime.date.today().isoformat()
    routes = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            # The routes that name a record by its id (the others answer for the caller's own municipality).
            if "_id}" not in path or method not in ("get", "post", "put", "patch", "delete"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            body = _example(content["application/json"]["schema"], spec, today) if "application/json" in content else {}
            routes.append((method.upper(), path, None if method == "get" else body))
    return routes


def test_the_document_lists_the_routes_this_test_walks(world):
    _runtime, http, _case, _experiment = world
    paths = {path for _method, path, _body in _routes(http)}
    assert any("{plan_id}" in p for p in paths) and any("{experiment_id}" in p for p in paths)
    assert len(paths) >= 20


def test_another_municipality_reaches_nothing_through_any_route(world):
    runtime, http, case, experiment_id = world
    before = _snapshot(runtime)
    ids = {"plan_id": case.plan_id, "experiment_id": experiment_id}
    answers = []
    for method, path, body in _routes(http):
        url = "/monitoring" + re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())), path)
        for who in OTHERS:
            r = http.request(method, url, headers=who, json=body)
            answers.append(r.status_code)
            if method == "GET":
                assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
            else:
                assert r.status_code in (403, 404, 409, 415, 422), (method, path, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json"), (method, path)
            assert case.client_id not in r.text, (method, path)
    assert _snapshot(runtime) == before
    # Most writes got past validation to the lookup (a 404 or 403), not only a refused body.
    assert answers.count(404) + answers.count(403) > 0.8 * len(answers), answers


def test_the_own_municipality_reads_what_the_others_cannot(world):
    _runtime, http, case, experiment_id = world
    assert http.get(f"/monitoring/v1/trajectories/{case.plan_id}", headers=OWN).status_code == 200
    assert http.get(f"/monitoring/v1/experiments/{experiment_id}", headers=OWN).status_code == 200
