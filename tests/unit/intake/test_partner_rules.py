"""Partner applications and consent, the rules (issue 13): secrets hashed with scrypt and checked in
constant time, scopes as RFC 6749 says (a subset of what is allowed; none asked: all), a consent
active until withdrawn or past its last day, a plan line naming a provider by KvK number."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.intake.domain.partners import (
    InvalidScope,
    checked_scopes,
    consent_active,
    ensure_until_not_past,
    hash_secret,
    new_client_secret,
    plan_names_provider,
    token_scopes,
    verify_secret,
)
from shared.access import Scope, require_scope
from shared.auth import Principal, Role
from shared.errors import Forbidden, RuleBroken

TODAY = date(2026, 3, 2)


def test_a_secret_is_stored_as_a_salted_scrypt_hash_and_only_the_secret_matches():
    secret = new_client_secret()
    stored, again = hash_secret(secret), hash_secret(secret)
    assert stored.startswith("scrypt$16384$8$1$") and secret not in stored
    assert stored != again  # a salt of its own each time
    assert verify_secret(secret, stored) and verify_secret(secret, again)
    assert not verify_secret(secret + "x", stored)
    assert not verify_secret(secret, None)  # an unknown client: never a match
    assert not verify_secret(secret, "plain$text") and not verify_secret(secret, "bcrypt$1$2$3$a$b")


def test_scopes_asked_must_be_allowed_and_none_asked_means_all_allowed():
    allowed = ("progress:write", "clients:read-own")
    assert token_scopes(None, allowed) == allowed and token_scopes("  ", allowed) == allowed
    assert token_scopes("clients:read-own", allowed) == ("clients:read-own",)
    assert token_scopes("clients:read-own progress:write", allowed) == allowed  # in the allowed order
    with pytest.raises(InvalidScope, match="webhooks:manage"):
        token_scopes("clients:read-own webhooks:manage", allowed)


def test_a_municipality_grants_known_scopes_and_at_least_one():
    assert checked_scopes(["webhooks:manage", "invoices:write", "webhooks:manage"]) == (
        "invoices:write",
        "webhooks:manage",
    )
    for bad in (["clients:read-all"], []):
        with pytest.raises(RuleBroken) as refused:
            checked_scopes(bad)
        assert refused.value.field == "allowed_scopes"


def test_a_consent_counts_until_withdrawn_or_past_its_last_day():
    assert consent_active(None, None, TODAY)
    assert consent_active(None, TODAY, TODAY)
    assert not consent_active(None, date(2026, 3, 1), TODAY)
    assert not consent_active(datetime(2026, 3, 2, 9, tzinfo=UTC), None, TODAY)
    ensure_until_not_past(TODAY, TODAY)
    with pytest.raises(RuleBroken) as refused:
        ensure_until_not_past(date(2026, 3, 1), TODAY)
    assert refused.value.field == "until"


def test_a_plan_names_a_provider_by_the_kvk_number_on_a_budget_line():
    content = {"budget": {"lines": [{"provider_kvk": None}, {"provider_kvk": "12345678"}]}}
    assert plan_names_provider(content, "12345678")
    assert not plan_names_provider(content, "87654321")
    assert not plan_names_provider({}, "12345678") and not plan_names_provider({"budget": "x"}, "12345678")


def test_scopes_hold_partner_tokens_only():
    partner = Principal(subject="app", role=Role.PARTNER, municipality="0014", scopes=("webhooks:manage",))
    require_scope(partner, Scope.WEBHOOKS_MANAGE)
    with pytest.raises(Forbidden) as refused:
        require_scope(partner, Scope.PROGRESS_WRITE)
    assert refused.value.code == "auth.scope_missing" and "progress:write" in refused.value.message
    require_scope(Principal(subject="km", role=Role.CASE_MANAGER, municipality="0014"), Scope.PROGRESS_WRITE)
