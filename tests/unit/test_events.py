import uuid
from datetime import datetime

import pytest
from pydantic import ValidationError

from contracts.events import PlanRejectedV1
from shared.events import EVENT_SCHEMAS, Envelope, Payload, UnknownEventError, new_event, parse_event
from tests.support.events import event_of


def _event(**overrides):
    env = event_of("PlanRejected", tenant="0014", subject="plan-1", producer="intake", correlation_id="c-1",
                    payload={"plan_id": "plan-1", "client_id": "client-1", "plan_version": 2})
    data = env.model_dump(mode="json")
    data.update(overrides)
    return data


def test_new_event_fills_id_time_and_latest_version():
    env = Envelope.model_validate(_event())
    assert isinstance(env.event_id, uuid.UUID) and env.version == 1 and env.occurred_at.tzinfo is not None


def test_envelope_is_frozen():
    env = Envelope.model_validate(_event())
    with pytest.raises(ValidationError):
        env.type = "Other"  # type: ignore[misc]


@pytest.mark.parametrize("field,value", [
    ("tenant", "Groningen"), ("tenant", "14"), ("version", 0), ("producer", "Some Body"), ("correlation_id", ""),
])
def test_envelope_rejects_bad_fields(field, value):
    with pytest.raises(ValidationError):
        Envelope.model_validate(_event(**{field: value}))


def test_envelope_rejects_unknown_fields_so_nothing_extra_rides_along():
    with pytest.raises(ValidationError):
        Envelope.model_validate(_event(bsn="999900017"))


def test_envelope_rejects_time_without_zone():
    with pytest.raises(ValidationError):
        Envelope.model_validate(_event(occurred_at=datetime(2026, 1, 1).isoformat()))


def test_payload_with_personal_data_field_is_refused():
    with pytest.raises(ValidationError):
        event_of("ClientRegistered", tenant="0014", subject="c", producer="intake", correlation_id="x",
                  payload={"client_id": "c", "bsn": "999900017"})


def test_unknown_version_is_reported_with_the_known_versions():
    with pytest.raises(UnknownEventError, match=r"PlanRejected version 9 is not supported \(known versions: \[1\]\)"):
        parse_event(_event(version=9))


def test_unknown_type_is_reported():
    with pytest.raises(UnknownEventError, match="unknown event type"):
        parse_event(_event(type="PlanEaten"))


def test_payload_is_checked_against_its_schema_on_parse():
    data = _event()
    data["payload"] = {"plan_id": "p"}
    with pytest.raises(ValidationError):
        parse_event(data)


def test_payload_schemas_carry_no_personal_data_fields():
    personal = {"bsn", "name", "email", "phone", "address", "date_of_birth", "iban"}
    for (event_type, _version), model in EVENT_SCHEMAS.items():
        assert not personal & set(model.model_fields), event_type


def test_the_payload_class_names_the_event_type_and_version():
    env = new_event(PlanRejectedV1(plan_id="p", client_id="c", plan_version=1), tenant="0014", subject="p",
                    producer="intake", correlation_id="c-1")
    assert (env.type, env.version) == ("PlanRejected", 1)
    assert parse_event(env.model_dump(mode="json"))[1] == PlanRejectedV1(plan_id="p", client_id="c", plan_version=1)


def test_an_event_type_and_version_cannot_be_declared_twice():
    with pytest.raises(TypeError, match="declared twice"):
        class Impostor(Payload, event_type="PlanRejected", version=1):
            plan_id: str

