"""Helpers for the intake journey and review-flow tests: presets, clients, plans, the outbox."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from eigenregie.initial_data import example_plan
from eigenregie.initial_data import test_bsn as bsn_for
from shared.bus.tables import bus_tables
from shared.clock import FrozenClock
from shared.runtime import Runtime
from shared.uow import UnitOfWork
from tests.support.auth import auth

# The day every intake test runtime lives on (FrozenClock.on(TODAY)): dates in answers are exact.
TODAY = date(2026, 3, 2)
STARTS_ON = TODAY + timedelta(days=14)  # plans start two weeks after today, as example_plan's default does


def frozen_clock() -> FrozenClock:
    """Today is TODAY in every intake test runtime; each `now()` a millisecond after the last, so rows
    written one after the other keep that order by their timestamps (decisions are replayed in it)."""
    return FrozenClock.on(TODAY, tick=timedelta(milliseconds=1))


def run_job(runtime: Runtime, job: Callable[[UnitOfWork], int]) -> int:
    """A scheduled job, run as the scheduler runs it: in one intake unit of work."""
    with runtime.uow("intake") as uow:
        return job(uow)


SECTIONS = ("foreword", "introduction", "labour_market", "preconditions", "structure", "budget")
# A content review (reciprocal, demand-oriented) assesses every section of the plan.
ASSESSMENTS = {s: f"{s}: voldoende onderbouwd." for s in SECTIONS}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# Clients who meet each preset's hard criteria (Table 3.2), and the criteria the preset checks.
PRESETS: dict[str, dict[str, Any]] = {
    # Groningen: "ja, tenzij"; at least six months unemployed.
    "0014": {
        "name": "Groningen",
        "review_model": "marginal",
        "client": {"benefit_type": "WWB", "facts": {"months_unemployed": 7, "other_running_trajectory": False}},
        "criteria": {"benefit_type", "resident", "no_running_trajectory", "min_months_unemployed"},
    },
    # Utrecht: reciprocal; no suitable regular offer and a fair chance of outflow. A job seeker
    # without benefit (NUG) may apply.
    "0344": {
        "name": "Utrecht",
        "review_model": "reciprocal",
        "client": {
            "benefit_type": "NUG",
            "facts": {
                "no_suitable_regular_offer": True,
                "fair_chance_of_outflow": True,
                "other_running_trajectory": False,
            },
        },
        "criteria": {
            "benefit_type",
            "resident",
            "no_running_trajectory",
            "no_suitable_regular_offer",
            "fair_chance_of_outflow",
        },
    },
    # Zoetermeer: reciprocal; WWB only, at least a year on benefit, and a target group. This
    # client is 31, so it is the single-parent group (youngest child 8) that lets them in.
    "0637": {
        "name": "Zoetermeer",
        "review_model": "reciprocal",
        "client": {
            "benefit_type": "WWB",
            "date_of_birth": date(TODAY.year - 31, 1, 15).isoformat(),
            "facts": {
                "months_on_benefit": 12,
                "single_parent": True,
                "youngest_child_birth_date": date(TODAY.year - 8, 6, 1).isoformat(),
                "other_running_trajectory": False,
            },
        },
        "criteria": {"benefit_type", "resident", "no_running_trajectory", "min_months_on_benefit", "target_group"},
    },
}

LINES = (
    ("Opleiding kok niveau 2", "training_skills", "ROC Noord", "1800.00"),
    ("Loopbaancoaching", "coaching", "Coach BV", "600.00"),
)

# Seeds two apart: test_bsn may step past its own block of ten to find a valid BSN.
_seeds = itertools.count(1)


class Person:
    """One client in one municipality, with the headers of the people around them."""

    def __init__(self, municipality: str, client_id: str, seed: int, case_manager: str) -> None:
        self.municipality, self.client_id, self.seed = municipality, client_id, seed
        self.km_subject = case_manager
        self.km = auth("case_manager", municipality, subject=case_manager)
        self.me = auth("client", municipality, subject=f"client-{seed}", client_id=client_id)
        self.fin = auth("finance", municipality, subject=f"fin-{municipality}")


def register(http: TestClient, municipality: str, *, seed_base: int = 0, **extra: Any) -> Person:
    """A client who meets the preset's criteria, registered by their case manager."""
    seed = seed_base + 2 * next(_seeds)
    case_manager = f"km-{municipality}"
    body = {
        "bsn": bsn_for(seed),
        "client_number": f"K-{seed}",
        "name": f"Klant {seed}",
        **PRESETS.get(municipality, {"client": {"facts": {"other_running_trajectory": False}}})["client"],
        **extra,
    }
    r = http.post("/intake/v1/clients", headers=auth("case_manager", municipality, subject=case_manager), json=body)
    assert r.status_code == 201, r.text
    return Person(municipality, r.json()["id"], seed, case_manager)


def plan_body(lines: tuple[tuple[str, str, str, str], ...] = LINES, **extra: Any) -> dict[str, Any]:
    return {**example_plan("Kok", list(lines), starts_on=STARTS_ON), **extra}


def create_plan(http: TestClient, person: Person, lines: tuple[tuple[str, str, str, str], ...] = LINES) -> dict:
    r = http.post("/intake/v1/plans", headers=person.me, json={"client_id": person.client_id, **plan_body(lines)})
    assert r.status_code == 201, r.text
    return r.json()


def submit(http: TestClient, person: Person, plan: dict) -> dict:
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=person.me, json={"plan_version": plan["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    return r.json()


def submitted_plan(http: TestClient, person: Person, lines: tuple[tuple[str, str, str, str], ...] = LINES) -> dict:
    return submit(http, person, create_plan(http, person, lines))


def decide(http: TestClient, headers: dict[str, str], plan: dict, kind: str, **body: Any):
    """The raw response: tests look at refusals as much as at successes."""
    return http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=headers,
        json={"plan_version": plan["version"], "kind": kind, **body},
    )


def decided(http: TestClient, headers: dict[str, str], plan: dict, kind: str, **body: Any) -> dict:
    r = decide(http, headers, plan, kind, **body)
    assert r.status_code == 200, r.text
    return r.json()


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code, response.json()
    return response.json()


def events(runtime: Runtime, event_type: str, subject: str | None = None) -> list[dict[str, Any]]:
    """The intake outbox's envelopes of one type (for one subject), oldest first."""
    outbox = bus_tables("intake").outbox
    with runtime.engine.connect() as conn:
        rows = (
            conn.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type).order_by(outbox.c.id))
            .scalars()
            .all()
        )
    found = [json.loads(row) for row in rows]
    return [e for e in found if subject is None or e["subject"] == subject]


def budget_of(http: TestClient, person: Person, plan_id: str) -> dict[str, Any] | None:
    r = http.get("/budget/v1/budgets", headers=person.fin, params={"plan_id": plan_id})
    assert r.status_code == 200, r.text
    found = r.json()
    assert len(found) <= 1, found
    return found[0] if found else None


def canonical_sha256(content: dict[str, Any]) -> str:
    """The fingerprint of a plan version, computed here independently of the service."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
