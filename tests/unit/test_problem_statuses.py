"""The problem answers each operation declares in OpenAPI (found missing by the Schemathesis run)."""

from __future__ import annotations

from shared.problems import _problem_statuses

SECURED = {"security": [{"HTTPBearer": []}]}


def test_every_operation_declares_the_rate_limit_and_a_busy_database():
    assert {429, 503} <= set(_problem_statuses("get", "/v1/policy", {}))


def test_a_body_or_an_id_filter_may_name_a_record_that_is_not_there():
    body = {**SECURED, "requestBody": {"content": {"application/json": {}}}}
    assert 404 in _problem_statuses("post", "/v1/plans", body)
    by_id = {**SECURED, "parameters": [{"in": "query", "name": "client_id"}]}
    assert 404 in _problem_statuses("get", "/v1/invoices", by_id)
    paged = {**SECURED, "parameters": [{"in": "query", "name": "page"}]}
    assert 404 not in _problem_statuses("get", "/v1/invoices", paged)


def test_an_upload_declares_the_file_type_it_refuses():
    upload = {**SECURED, "requestBody": {"content": {"multipart/form-data": {}}}}
    assert 415 in _problem_statuses("post", "/v1/plans/{plan_id}/attachments", upload)
    assert 415 not in _problem_statuses("post", "/v1/plans", {"requestBody": {"content": {"application/json": {}}}})
