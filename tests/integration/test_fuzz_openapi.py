"""Schemathesis against every service's OpenAPI, in process, with a valid token for each role.

Each operation gets `EXAMPLES` generated requests, their role drawn from every role the system
knows (derandomized: CI runs the same requests each time). Checks: no 5xx, every response
matches its documented schema, and its status code is one the operation documents. All
operations run before the test fails, so one run lists every finding.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from eigenregie.bootstrap import SERVICES
from shared.auth import Role
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client, make_case

# Per operation; a longer hunt: PRB_FUZZ_EXAMPLES=200 (the same derandomized run each time for a number).
EXAMPLES = int(os.environ.get("PRB_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]

# Operations left out, each with the reason (a finding too large for a small fix).
EXCLUDED: dict[str, str] = {}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz"), environment="test", rate_limit_enabled=False)
    runtime = migrated_runtime(settings)
    http = api_client(runtime)
    with http:
        case = make_case(http, runtime, "0014", 70)
        tokens = {role: _headers(role, case.client_id) for role in Role}
        known = {
            "client_id": case.client_id,
            "plan_id": case.plan_id,
            "budget_id": case.budget_id,
            "invoice_id": case.invoice_id,
            "report_id": case.report_id,
        }
        yield http.app, tokens, {name: value for name, value in known.items() if value}


def _headers(role: Role, client_id: str) -> dict[str, str]:
    if role in (Role.CLIENT, Role.REPRESENTATIVE):
        return auth(role, "0014", subject=f"{role.value}-fuzz", client_id=client_id)
    if role == Role.PROVIDER:
        return auth(role, "0014", provider_id="provider-fuzz")
    return auth(role, "0014")


def _fuzz(
    operation: Any, tokens: dict[Role, dict[str, str]], known: dict[str, str], statuses: Counter[int]
) -> list[str]:
    findings: list[str] = []
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    # The world's own records too, so that requests get past "not found" to the rules behind it.
    ids = {name: value for name, value in known.items() if "{" + name + "}" in operation.path}
    if ids:
        strategies.insert(0, operation.as_strategy(GenerationMode.POSITIVE, path_parameters=ids))
    cases = st.one_of(strategies)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, role=st.sampled_from(sorted(tokens)))
    def run(case: Any, role: Role) -> None:
        response = case.call(headers=tokens[role])
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=tokens[role])
        except (AssertionError, FailureGroup) as exc:  # collected, reported together below
            findings.append(f"{operation.method.upper()} {operation.path} as {role.value}: {exc}"[:3000])

    run()
    return findings


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_without_5xx_as_documented_for_every_role(world, service):
    app, tokens, known = world
    schema = schemathesis.openapi.from_asgi(f"/{service}/v1/openapi.json", app)
    findings: list[str] = []
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in EXCLUDED:
            continue
        findings += _fuzz(operation, tokens, known, statuses)
    print(f"{service}: {time.monotonic() - started:.1f} s, answers {sorted(statuses.items())}")
    assert not findings, "\n\n".join(findings)
