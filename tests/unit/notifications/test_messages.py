"""A message keeps a template and ids; it is rendered in the reader's language when read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications.domain.messages import Message, MessageStatus, RecipientKind
from services.notifications.domain.templates import TEMPLATES

AT = datetime(2026, 11, 23, 9, tzinfo=UTC)


def _message(template: str = "invoice_paid", params=None) -> Message:
    return Message.about(
        message_id="m-1",
        municipality="0014",
        template=template,
        client_id="c-1",
        recipient_kind=RecipientKind.CLIENT,
        params=params or {"amount_cents": 122550, "paid_on": "2026-11-23"},
        cause_event_id="e-1",
        at=AT,
    )


def test_a_new_message_is_pending_and_renders_in_dutch_and_english():
    message = _message()
    assert message.status == MessageStatus.PENDING and message.created_at == AT
    nl, en = message.rendered("nl"), message.rendered("en")
    assert nl.language == "nl" and "1.225,50" in nl.body
    assert en.language == "en" and "1,225.50" in en.body


def test_an_unknown_language_falls_back_to_dutch():
    assert _message().rendered("de").language == "nl"


def test_a_template_that_does_not_exist_is_refused_when_the_message_is_made():
    with pytest.raises(KeyError):
        _message("no_such_template")


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_has_both_languages(template):
    assert set(TEMPLATES[template]) == {"nl", "en"}
