"""The NL API Design Rules as the services answer them: version in path and header, HEAD,
no slash redirects, paged lists, problem answers declared, a bearer scheme for /docs."""

from __future__ import annotations

import pytest

from eigenregie.bootstrap import SERVICES
from shared.pagination import Page, PageRequest, _links
from shared.problems import PROBLEM_JSON
from tests.support.auth import auth
from tests.support.world import make_case, migrated_app

KM, FIN = auth("case_manager", "0014"), auth("finance", "0014")


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    runtime, http = migrated_app(request, tmp_path_factory.mktemp("conventions"))
    with http:
        cases = [make_case(http, runtime, "0014", seed) for seed in (40, 50, 60)]
        yield runtime, http, cases


def _openapi(http, service):
    r = http.get(f"/{service}/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


def _operations(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_every_answer_says_the_full_api_version(world):
    _, http, _ = world
    assert http.get("/intake/v1/clients", headers=KM).headers["API-Version"] == "1.0.0"
    assert http.get("/budget/v1/invoices/nope", headers=FIN).headers["API-Version"] == "1.0.0"  # a 404 too


def test_head_answers_like_get_without_a_body(world):
    _, http, cases = world
    get = http.get(f"/intake/v1/plans/{cases[0].plan_id}", headers=KM)
    head = http.head(f"/intake/v1/plans/{cases[0].plan_id}", headers=KM)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == get.headers["content-type"]
    assert http.head("/intake/v1/plans/unknown", headers=KM).status_code == 404


def test_a_trailing_slash_is_not_redirected(world):
    _, http, _ = world
    r = http.get("/intake/v1/clients/", headers=KM, follow_redirects=False)
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM_JSON)


def test_the_unversioned_paths_are_gone(world):
    _, http, _ = world
    assert http.get("/intake/clients", headers=KM).status_code == 404


def test_a_list_is_paged_with_a_total_and_links(world):
    _, http, _ = world
    first = http.get("/intake/v1/clients", headers=KM, params={"page_size": 2})
    assert first.status_code == 200, first.text
    assert len(first.json()) == 2 and int(first.headers["X-Total-Count"]) == 3
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    second = http.get("/intake/v1/clients", headers=KM, params={"page_size": 2, "page": 2})
    assert len(second.json()) == 1 and 'rel="next"' not in second.headers["Link"]
    assert {c["id"] for c in first.json()}.isdisjoint({c["id"] for c in second.json()})


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 501}, {"page": "x"}])
def test_a_bad_page_is_a_422_naming_the_parameter(world, params):
    _, http, _ = world
    r = http.get("/intake/v1/clients", headers=KM, params=params)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] in params


def test_links_keep_the_filters_and_point_to_real_pages():
    page = Page(items=[1, 2], total=5, request=PageRequest(2, 2, "/budget/v1/invoices", (("status", "paid"),)))
    links = _links(page)
    assert '</budget/v1/invoices?status=paid&page=1&page_size=2>; rel="first"' in links
    assert '</budget/v1/invoices?status=paid&page=3&page_size=2>; rel="last"' in links
    assert 'rel="prev"' in links and 'rel="next"' in links
    empty = _links(Page(items=[], total=0, request=PageRequest(1, 10, "/x")))
    assert 'page=1&page_size=10>; rel="last"' in empty and "next" not in empty


def test_a_domain_error_answers_in_dutch_when_asked(world):
    _, http, _ = world
    r = http.get("/intake/v1/plans/unknown", headers={**KM, "Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
    assert r.status_code == 404 and r.headers["Content-Language"] == "nl" and "Er is geen" in r.json()["detail"]
    r = http.get("/intake/v1/plans/unknown", headers=KM)
    assert r.headers["Content-Language"] == "en" and r.json()["detail"].startswith("No ")


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_has_servers_and_a_bearer_scheme_on_every_operation(world, service):
    _, http, _ = world
    document = _openapi(http, service)
    assert document["servers"] == [{"url": f"/{service}", "description": "this host"}]
    schemes = document["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    for method, path, operation in _operations(document):
        assert path.startswith("/v1/"), path
        assert operation.get("security"), f"{method.upper()} {path} declares no security"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_its_problem_answers_as_problem_json(world, service):
    _, http, _ = world
    document = _openapi(http, service)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in _operations(document):
        for status in ("401", "403", "429", "503"):
            assert PROBLEM_JSON in operation["responses"][status]["content"], f"{method} {path} {status}"
        if "{" in path:
            assert "404" in operation["responses"], f"{method} {path}"
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(operation["responses"]), f"{method} {path}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_summary_and_a_description(world, service):
    _, http, _ = world
    missing = [f"{m.upper()} {p}" for m, p, op in _operations(_openapi(http, service))
               if not op.get("summary") or not op.get("description")]
    assert not missing, missing


@pytest.mark.parametrize("service", SERVICES)
def test_every_list_operation_is_paged(world, service):
    _, http, _ = world
    unpaged = []
    for method, path, operation in _operations(_openapi(http, service)):
        content = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        if method == "get" and content.get("schema", {}).get("type") == "array":
            names = {p["name"] for p in operation.get("parameters", [])}
            headers = operation["responses"]["200"].get("headers", {})
            if not {"page", "page_size"} <= names or "X-Total-Count" not in headers:
                unpaged.append(f"GET {path}")
    assert not unpaged, unpaged


def test_a_refusal_replayed_under_its_idempotency_key_answers_exactly_as_the_first_time(world):
    _, http, cases = world
    case = cases[0]
    duplicate = {"budget_line_id": case.budget_line_id, "invoice_number": "INV-40", "provider_id": "coach-bv",
                 "provider_name": "Coach BV", "provider_iban": "NL91ABNA0417164300", "amount": "100.00"}
    headers = {**FIN, "Idempotency-Key": "duplicate-invoice-1"}
    first = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=headers, json=duplicate)
    again = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=headers, json=duplicate)
    assert first.status_code == 409, first.text
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
