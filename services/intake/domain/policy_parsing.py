"""Reading a policy back from its JSON (`policy_from_dict`) and RFC 7396 merge patches on it.
Every wrong value raises a `PolicyError` that names the field. Writing is `policy_to_dict`
in policy.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.intake.domain.criteria import rule_from_dict
from services.intake.domain.errors import PolicyError
from services.intake.domain.policy import (
    POLICY_FORMAT,
    ContractedProvider,
    ContractingParty,
    IndicationBudget,
    MunicipalPolicy,
    OrientationPhase,
    PlanElement,
    Scheme,
    SchemeOffer,
    default_policy,
    general_rules,
    has_control_characters,
    policy_to_dict,
)
from services.intake.domain.policy_presets import PIB_REQUIRED_PLAN_ELEMENTS, pib_admission_rules
from services.intake.domain.price_catalogue import CatalogueProduct
from shared.money import Money, MoneyError

_TOP_LEVEL_KEYS = frozenset(policy_to_dict(default_policy("0000", "-")))


def _fail(path: str, problem: str) -> PolicyError:
    return PolicyError("policy.invalid", f"{path}: {problem}", path)


def _money(value: Any, path: str) -> Money:
    try:
        return Money.euros(value)
    except MoneyError as exc:
        raise _fail(path, f'{exc} (write euros as a string, e.g. "5000.00")') from exc


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"must be true or false, got {value!r}")
    return value


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"must be a whole number, got {value!r}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"must be text, got {value!r}")
    if has_control_characters(value):
        raise _fail(path, "contains a control character (such as NUL) or a line break; remove it")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise _fail(path, "must be a list")
    return list(value)


def _obj(value: Any, path: str, allowed: Iterable[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path or "policy", "must be an object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _fail(f"{path}.{unknown[0]}" if path else unknown[0], "unknown setting (a typo?)")
    return value


def _scheme_from(d: Any, path: str, municipality_code: str) -> SchemeOffer:
    """One scheme offer. A pib offer takes the pib preset's settings (policy_presets.pib_offer: the
    duaal traject's two parts, the municipality as contracting party, its own admission rules) for
    what it leaves out; never its maximum, which is always required."""
    d = _obj(
        d,
        path,
        [
            "scheme",
            "maximum_budget",
            "per_year",
            "indication_maximums",
            "required_plan_elements",
            "contracting_party",
            "admission_rules",
        ],
    )
    if "scheme" not in d:
        raise _fail(path, "a scheme needs 'scheme' and 'maximum_budget'")
    if "maximum_budget" not in d:
        # No amount is ever assumed: the report gives none for pgb bw's variants or pib.
        raise _fail(f"{path}.maximum_budget", "is required: the municipality sets the maximum of every scheme")
    raw_indications = d.get("indication_maximums", {})
    if not isinstance(raw_indications, Mapping):
        raise _fail(f"{path}.indication_maximums", "must be an object of indication -> amount")
    indications = tuple(
        IndicationBudget(_str(k, f"{path}.indication_maximums"), _money(v, f"{path}.indication_maximums.{k}"))
        for k, v in raw_indications.items()
    )
    raw_scheme = _str(d["scheme"], f"{path}.scheme")
    if raw_scheme not in {s.value for s in Scheme}:
        raise _fail(f"{path}.scheme", f"{raw_scheme!r} is not one of: {', '.join(s.value for s in Scheme)}")
    maximum = _money(d["maximum_budget"], f"{path}.maximum_budget")
    per_year = _bool(d.get("per_year", False), f"{path}.per_year")
    elements = []
    for i, e in enumerate(_list(d.get("required_plan_elements", []), f"{path}.required_plan_elements")):
        if e not in {p.value for p in PlanElement}:
            raise _fail(
                f"{path}.required_plan_elements[{i}]", f"{e!r} is not one of: {', '.join(p.value for p in PlanElement)}"
            )
        elements.append(PlanElement(e))
    party = d.get("contracting_party")
    if party is not None:
        party = _str(party, f"{path}.contracting_party")
        if party not in {c.value for c in ContractingParty}:
            raise _fail(
                f"{path}.contracting_party", f"{party!r} is not one of: {', '.join(c.value for c in ContractingParty)}"
            )
    rules = None
    if raw_scheme == Scheme.PIB.value:
        if "required_plan_elements" not in d:
            elements = list(PIB_REQUIRED_PLAN_ELEMENTS)
        if "contracting_party" not in d:
            party = ContractingParty.MUNICIPALITY.value
        if "admission_rules" not in d and len(municipality_code) == 4 and municipality_code.isdigit():
            rules = pib_admission_rules(municipality_code)
    if "admission_rules" in d:
        rules = tuple(
            rule_from_dict(r, f"{path}.admission_rules[{i}]")
            for i, r in enumerate(_list(d["admission_rules"], f"{path}.admission_rules"))
        )
    try:
        return SchemeOffer(
            Scheme(raw_scheme),
            maximum,
            per_year,
            indications,
            tuple(elements),
            None if party is None else ContractingParty(party),
            rules,
        )
    except PolicyError as exc:
        raise _fail(f"{path}.{exc.field}", exc.message.split(": ", 1)[-1]) from exc


_PRODUCT_KEYS = ("code", "description", "category", "unit", "maximum_price")


def _product_from(d: Any, path: str) -> CatalogueProduct:
    d = _obj(d, path, _PRODUCT_KEYS)
    missing = [key for key in _PRODUCT_KEYS if key not in d]
    if missing:
        raise _fail(f"{path}.{missing[0]}", "is required (a product has " + ", ".join(_PRODUCT_KEYS) + ")")
    # The dataclass checks the category and the unit and names the field.
    values: dict[str, Any] = {key: _str(d[key], f"{path}.{key}") for key in ("code", "description", "category", "unit")}
    values["maximum_price"] = _money(d["maximum_price"], f"{path}.maximum_price")
    try:
        return CatalogueProduct(**values)
    except PolicyError as exc:
        if exc.field and exc.field.startswith(path):
            raise
        raise _fail(f"{path}.{exc.field}", exc.message.split(": ", 1)[-1]) from exc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, `null` removes a key, anything else
    (lists included) replaces what was there."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def policy_from_dict(d: Mapping[str, Any]) -> MunicipalPolicy:
    """Build a policy from stored JSON. Missing settings take the neutral defaults; unknown
    settings and wrong values raise a `PolicyError` (a ValueError) that names the field.

    Leaving out `admission_rules` gives the general rules (WWB or NUG, resident, no other
    trajectory); an explicit empty list means no rules at all.
    """
    d = _obj(d, "", _TOP_LEVEL_KEYS)
    if d.get("format", POLICY_FORMAT) != POLICY_FORMAT:
        raise _fail("format", f"this version reads policy format {POLICY_FORMAT}, got {d.get('format')!r}")
    for key in ("municipality_code", "municipality_name"):
        if key not in d:
            raise _fail(key, "is required")
    code = _str(d["municipality_code"], "municipality_code")
    kwargs: dict[str, Any] = {
        "municipality_code": code,
        "municipality_name": _str(d["municipality_name"], "municipality_name"),
    }
    if "schemes" in d:
        kwargs["schemes"] = tuple(
            _scheme_from(s, f"schemes[{i}]", code) for i, s in enumerate(_list(d["schemes"], "schemes"))
        )
    if "orientation" in d:
        o = _obj(d["orientation"], "orientation", ["enabled", "months", "budget"])
        kwargs["orientation"] = OrientationPhase(
            enabled=_bool(o.get("enabled", True), "orientation.enabled"),
            months=_int(o.get("months", 3), "orientation.months"),
            budget=_money(o.get("budget", "0"), "orientation.budget"),
        )
    if "admission_rules" in d:
        kwargs["admission_rules"] = tuple(
            rule_from_dict(r, f"admission_rules[{i}]")
            for i, r in enumerate(_list(d["admission_rules"], "admission_rules"))
        )
    else:
        kwargs["admission_rules"] = general_rules(code) if len(code) == 4 and code.isdigit() else ()
    if "contracted_providers" in d:
        providers = []
        for i, p in enumerate(_list(d["contracted_providers"], "contracted_providers")):
            p = _obj(p, f"contracted_providers[{i}]", ["name", "kvk"])
            kvk = p.get("kvk")
            try:
                providers.append(
                    ContractedProvider(
                        _str(p.get("name"), f"contracted_providers[{i}].name"),
                        None if kvk is None else _str(kvk, f"contracted_providers[{i}].kvk"),
                    )
                )
            except PolicyError as exc:
                raise _fail(f"contracted_providers[{i}]", exc.message.split(": ", 1)[-1]) from exc
        kwargs["contracted_providers"] = tuple(providers)
    if "required_plan_elements" in d:
        elements = []
        for i, e in enumerate(_list(d["required_plan_elements"], "required_plan_elements")):
            try:
                elements.append(PlanElement(e))
            except ValueError as exc:
                raise _fail(
                    f"required_plan_elements[{i}]", f"{e!r} is not one of: {', '.join(p.value for p in PlanElement)}"
                ) from exc
        kwargs["required_plan_elements"] = tuple(elements)
    for key in ("execution_months", "decision_term_weeks", "decision_warning_weeks", "min_quotes_per_activity"):
        if key in d:
            kwargs[key] = _int(d[key], key)
    for key in ("client_confirms_invoices", "amounts_excl_vat"):
        if key in d:
            kwargs[key] = _bool(d[key], key)
    if "four_eyes_threshold" in d:
        kwargs["four_eyes_threshold"] = _money(d["four_eyes_threshold"], "four_eyes_threshold")
    if "price_catalogue" in d:
        kwargs["price_catalogue"] = tuple(
            _product_from(p, f"price_catalogue[{i}]")
            for i, p in enumerate(_list(d["price_catalogue"], "price_catalogue"))
        )
    if d.get("quote_required_above") is not None:
        kwargs["quote_required_above"] = _money(d["quote_required_above"], "quote_required_above")
    for key in ("review_model", "too_few_quotes", "over_catalogue_price", "missing_required_quote"):
        if key in d:
            kwargs[key] = _str(d[key], key)  # the dataclass checks the value and names the field
    return MunicipalPolicy(**kwargs)
